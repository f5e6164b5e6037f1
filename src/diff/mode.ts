/** File modes: numbers in the difference model, octal strings where people read them. */

/** `0o644` -> `"0644"`, `0o4755` -> `"04755"`, `0o100644` -> `"0100644"`: how people write modes. */
export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

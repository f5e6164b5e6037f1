/**
 * Whether a command colours its output, as most CLI tools decide it (https://no-color.org,
 * https://force-color.org): FORCE_COLOR=1|2|3|true forces colour even into a pipe and
 * FORCE_COLOR=0|false turns it off; otherwise a non-empty NO_COLOR turns it off even on a terminal;
 * otherwise colour exactly when the stream is a terminal. FORCE_COLOR wins over NO_COLOR because it
 * is the narrower setting (set for one job or command, while NO_COLOR usually sits in a profile).
 * Other FORCE_COLOR values (including empty) are ignored. Pure, so every command can share it.
 */
export function shouldColour(env: Readonly<Record<string, string | undefined>>, isTTY: boolean | undefined): boolean {
  const force = env.FORCE_COLOR?.trim().toLowerCase();
  if (force === '1' || force === '2' || force === '3' || force === 'true') return true;
  if (force === '0' || force === 'false') return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY === true;
}

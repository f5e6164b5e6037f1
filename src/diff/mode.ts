/** File modes as the differences carry them: numbers, or octal strings as the JSON report spells them. */

/** A mode as a number: the comparer may give a number or an octal string such as "0644". */
export function parseMode(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^0?o?[0-7]{1,7}$/.test(value)) return Number.parseInt(value.replace(/^0?o?/, ''), 8);
  return null;
}

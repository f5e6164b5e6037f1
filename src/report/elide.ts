/**
 * Cutting values to fit a report, the one place that does it. A value shown alone is cut at its end;
 * two values shown side by side as a change are cut so that where they first differ stays visible in
 * both (a 300-character RUN line changed near its end must not show as one prefix twice): the common
 * prefix is cut at the start, what follows at the end, each cut marked `…`. Widths count grapheme
 * clusters, so a cut never splits a surrogate pair, an emoji sequence or a letter from its accent.
 */

export const ellipsis = '…';

/** Widths below this are raised to it: an ellipsis at each end and some context need room. */
export const minPairWidth = 8;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The grapheme clusters of a string; printable ASCII without the segmenter, which is slow. */
function graphemes(text: string): string[] {
  if (/^[\u0020-\u007e]*$/.test(text)) return text.split('');
  return Array.from(segmenter.segment(text), (segment) => segment.segment);
}

/** A value shown alone: whitespace runs made one space, then cut at its end to `width` graphemes. */
export function elideEnd(text: string, width: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  if (oneLine.length <= width) return oneLine;
  const units = graphemes(oneLine);
  if (units.length <= width) return oneLine;
  return `${units.slice(0, Math.max(0, width - 1)).join('')}${ellipsis}`;
}

/**
 * Two differing values shown as a change, each at most `width` graphemes (at least `minPairWidth`).
 * Line breaks and tabs are shown escaped (`\n`) and spaces are kept as they are, so a difference in
 * white space stays visible. Both displays start at the same place: at the start when the first
 * difference is near it, else a third of the width before that difference, behind a `…`; each is then
 * cut at its end, behind a `…`, where it does not fit. Values that fit are shown whole.
 */
export function elidePair(a: string, b: string, width: number): [string, string] {
  const max = Math.max(minPairWidth, Math.floor(width));
  let lineA = escapeBreaks(a);
  let lineB = escapeBreaks(b);
  // `a\\nb` and `a<line feed>b` escape alike: quote both as JSON, which escapes the backslash too.
  if (lineA === lineB && a !== b) [lineA, lineB] = [JSON.stringify(a), JSON.stringify(b)];
  const unitsA = graphemes(lineA);
  const unitsB = graphemes(lineB);
  if (unitsA.length <= max && unitsB.length <= max) return [lineA, lineB];
  // Equal values (a caller's formatting made them so) are cut at the end, as one value would be.
  if (lineA === lineB) return [window(unitsA, 0, max), window(unitsB, 0, max)];
  let prefix = 0;
  while (prefix < unitsA.length && prefix < unitsB.length && unitsA[prefix] === unitsB[prefix]) prefix++;
  // Context kept before the first difference when the common prefix is cut: a third of the width, or
  // more when the longer side then ends within the width (a difference near the end).
  const lead = Math.floor(max / 3);
  const longest = Math.max(unitsA.length, unitsB.length);
  const start = prefix < max - lead ? 0 : Math.min(prefix - lead, longest - (max - 1));
  return [window(unitsA, start, max), window(unitsB, start, max)];
}

/** `units` from `start`, cut to `max` graphemes with the ellipses counted. */
function window(units: readonly string[], start: number, max: number): string {
  const head = start > 0 ? ellipsis : '';
  const room = max - head.length;
  if (units.length - start <= room) return `${head}${units.slice(start).join('')}`;
  return `${head}${units.slice(start, start + room - 1).join('')}${ellipsis}`;
}

const escapes: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeBreaks(text: string): string {
  return text.replace(/[\n\r\t]/g, (char) => escapes[char] ?? char);
}

/**
 * Whether two texts' changed lines differ only in dates, times and durations: each changed line pair
 * is compared with every timestamp masked, so a log that differs only in when (and how long) things ran
 * is said in one line ("only timestamps differ (12 lines)") with one example, not as a wall of -/+.
 */

export interface LinePair {
  /** The line on side A; undefined when the line exists on side B only. */
  a?: string;
  b?: string;
}

export interface TimestampVerdict {
  /** True when there is at least one changed pair and every one differs only in timestamps. */
  onlyTimestamps: boolean;
  /** Changed pairs looked at (pairs whose lines are equal are not counted). */
  changedPairs: number;
  /** Of those, the pairs that differ only in timestamps. */
  timestampPairs: number;
  /** The kinds of timestamp seen in those pairs: `iso-8601`, `syslog`, `epoch`, `duration`, … */
  kinds: string[];
  /** The first pair that differs only in timestamps. */
  example?: { a: string; b: string };
}

const month = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const weekday = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const zone = '(?:Z|[+-]\\d{2}(?::?\\d{2})?|\\s?UTC|\\s?GMT)';

// Longest forms first, so a full date-time is masked as one before its time part could be.
const patterns: ReadonlyArray<readonly [string, RegExp]> = [
  // RFC 2822 (mail, HTTP): Sat, 05 Dec 2026 10:55:42 +0000
  ['rfc-2822', new RegExp(`\\b${weekday}, \\d{1,2} ${month} \\d{4} \\d{2}:\\d{2}(?::\\d{2})?(?: [+-]\\d{4}| [A-Z]{2,5})?`, 'g')],
  // date(1) and ctime: Sat Dec  5 10:55:42 UTC 2026
  ['date', new RegExp(`\\b${weekday} ${month} [ \\d]\\d \\d{2}:\\d{2}:\\d{2}(?: [A-Z]{2,5})? \\d{4}\\b`, 'g')],
  // Common log format: 05/Dec/2026:10:55:42 +0000
  ['common-log', new RegExp(`\\b\\d{2}/${month}/\\d{4}:\\d{2}:\\d{2}:\\d{2}(?: [+-]\\d{4})?`, 'g')],
  // ISO 8601 and dpkg/apt log stamps: 2026-12-05T10:55:42.123Z, 2026-12-05 10:55:42, 2026-12-05;
  // Go's log package writes 2026/12/05 10:55:42
  ['iso-8601', new RegExp(`\\b\\d{4}([-/])\\d{2}\\1\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2}(?:[.,]\\d+)?)?${zone}?)?(?![\\d:])`, 'g')],
  ['iso-8601', /\b\d{8}T\d{6}Z?\b/g],
  // syslog: Dec  5 10:55:42
  ['syslog', new RegExp(`\\b${month} [ \\d]\\d \\d{2}:\\d{2}:\\d{2}\\b`, 'g')],
  // a time of day alone: 10:55:42, 10:55:42.123
  ['time', /\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b/g],
  // epoch seconds (2001..2033) or milliseconds
  ['epoch', /\b1\d{9}(?:\.\d+)?\b|\b1\d{12}\b/g],
  // durations: real 0m1.23s, 1h2m3.5s, 350ms, 1.5 seconds
  ['duration', /\b\d+m\d+(?:\.\d+)?s\b|\b(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?(?:ns|us|µs|ms|s)\b|\b\d+(?:\.\d+)? ?(?:secs?|seconds?|mins?|minutes?|hours?)\b/g],
];

const mark = '\u0000';

/** The line with every timestamp replaced by one marker, and the kinds that were replaced. */
export function maskTimestamps(line: string): { masked: string; kinds: Set<string> } {
  const kinds = new Set<string>();
  let masked = line;
  for (const [kind, pattern] of patterns) {
    masked = masked.replace(pattern, () => {
      kinds.add(kind);
      return mark;
    });
  }
  return { masked, kinds };
}

/** Decides whether every changed pair differs only in timestamps; counts them and keeps one example. */
export function classifyTimestampPairs(pairs: Iterable<LinePair>): TimestampVerdict {
  let changed = 0;
  let timestampOnly = 0;
  const kinds = new Set<string>();
  let example: TimestampVerdict['example'];
  for (const { a, b } of pairs) {
    if (a === b) continue;
    changed++;
    if (a === undefined || b === undefined) continue;
    const ma = maskTimestamps(a);
    const mb = maskTimestamps(b);
    if (ma.masked !== mb.masked) continue;
    timestampOnly++;
    for (const kind of [...ma.kinds, ...mb.kinds]) kinds.add(kind);
    example ??= { a, b };
  }
  return {
    onlyTimestamps: changed > 0 && timestampOnly === changed,
    changedPairs: changed,
    timestampPairs: timestampOnly,
    kinds: [...kinds].sort(),
    example,
  };
}

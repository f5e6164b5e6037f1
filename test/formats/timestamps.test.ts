// Changed line pairs that differ only in dates, times or durations, and pairs that differ in more.
import { describe, expect, it } from 'vitest';
import { classifyTimestampPairs, maskTimestamps } from '../../src/formats/timestamps.js';

describe('classifyTimestampPairs', () => {
  // Each pair differs only in a timestamp of one kind; the kind the masker must name.
  const timestampPairs: Array<[string, string, string]> = [
    ['iso-8601', 'Created: 2026-12-05T10:55:42Z by builder', 'Created: 2026-12-06T08:01:13Z by builder'],
    ['iso-8601', 'built at 2026-12-05T10:55:42.123+01:00', 'built at 2026-12-05T11:02:07.9+01:00'],
    ['iso-8601', '2026-12-05 10:55:42 status installed libc6:amd64 2.36-9', '2026-12-05 10:57:03 status installed libc6:amd64 2.36-9'],
    ['iso-8601', 'Start-Date: 2026-12-05  10:55:42', 'Start-Date: 2026-12-06  10:55:42'],
    ['iso-8601', '2026/12/05 10:55:42 listening on :8080', '2026/12/06 00:00:01 listening on :8080'],
    ['syslog', 'Dec  5 10:55:42 host dpkg[12]: configured', 'Dec 15 09:01:02 host dpkg[12]: configured'],
    ['date', 'Sat Dec  5 10:57:48 UTC 2026', 'Sun Dec  6 11:00:00 UTC 2026'],
    ['rfc-2822', 'Date: Sat, 05 Dec 2026 10:55:42 +0000', 'Date: Sun, 06 Dec 2026 09:01:02 +0000'],
    ['common-log', '127.0.0.1 - - [05/Dec/2026:10:55:42 +0000] "GET /"', '127.0.0.1 - - [06/Dec/2026:09:00:00 +0000] "GET /"'],
    ['epoch', 'SOURCE_DATE_EPOCH=1796468987', 'SOURCE_DATE_EPOCH=1796470000'],
    ['epoch', '{"ts": 1796468987123}', '{"ts": 1796468999999}'],
    ['duration', 'real\t0m1.23s', 'real\t0m12.04s'],
    ['duration', 'Finished in 350ms', 'Finished in 1.5s'],
    ['duration', 'step took 1h2m3.5s', 'step took 59m0s'],
    ['duration', 'Elapsed: 2.5 seconds', 'Elapsed: 3 seconds'],
    ['time', '[10:55:42] compiling', '[11:02:07] compiling'],
  ];

  it.each(timestampPairs)('%s: %j -> only timestamps', (kind, a, b) => {
    const verdict = classifyTimestampPairs([{ a, b }]);
    expect(verdict).toMatchObject({ onlyTimestamps: true, changedPairs: 1, timestampPairs: 1, example: { a, b } });
    expect(verdict.kinds).toContain(kind);
  });

  // The same lines with something besides the time changed: never "only timestamps".
  const realPairs: Array<[string, string]> = [
    ['2026-12-05 10:55:42 status installed libc6:amd64 2.36-9', '2026-12-05 10:57:03 status installed libc6:amd64 2.36-10'],
    ['Dec  5 10:55:42 host dpkg[12]: configured', 'Dec  5 10:55:42 host dpkg[13]: configured'],
    ['version 2026-12-05', 'version 2026-12-05-rc1'],
    ['path 2026/12-05', 'path 2026/12-06'],
    ['size 1796468987 bytes', 'size 2796468987 bytes'],
    ['real\t0m1.23s', 'user\t0m1.23s'],
    ['build id 3f2a', 'build id 9c1e'],
  ];

  it.each(realPairs)('%j -> %j differs in more than time', (a, b) => {
    expect(classifyTimestampPairs([{ a, b }])).toMatchObject({ onlyTimestamps: false, changedPairs: 1, timestampPairs: 0, example: undefined });
  });

  it('counts over many pairs, keeps the first example, and one other change spoils the verdict', () => {
    const pairs = timestampPairs.map(([, a, b]) => ({ a, b }));
    const all = classifyTimestampPairs([{ a: 'same', b: 'same' }, ...pairs]);
    expect(all).toMatchObject({ onlyTimestamps: true, changedPairs: pairs.length, timestampPairs: pairs.length, example: pairs[0] });
    expect(all.kinds).toEqual(['common-log', 'date', 'duration', 'epoch', 'iso-8601', 'rfc-2822', 'syslog', 'time']);
    const spoiled = classifyTimestampPairs([...pairs, { a: realPairs[0]![0], b: realPairs[0]![1] }]);
    expect(spoiled).toMatchObject({ onlyTimestamps: false, changedPairs: pairs.length + 1, timestampPairs: pairs.length });
    // a line on one side only is a change no timestamp explains
    expect(classifyTimestampPairs([...pairs, { a: 'extra line' }]).onlyTimestamps).toBe(false);
    expect(classifyTimestampPairs([]).onlyTimestamps).toBe(false);
  });

  it('masks a full date-time as one stamp, not its parts', () => {
    expect(maskTimestamps('at 2026-12-05T10:55:42Z and Dec  5 10:55:42 done').masked).toBe('at \u0000 and \u0000 done');
  });
});

import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatProgressLine } from '../../src/cli/progress-format.js';

describe('formatBytes', () => {
  it.each<[number, string]>([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [45.2 * 1024 * 1024, '45.2 MiB'],
    [1.02 * 1024 ** 3, '1.02 GiB'],
    [12.5 * 1024 ** 3, '12.5 GiB'],
  ])('%d -> %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('formatDuration', () => {
  it.each<[number | undefined, string]>([
    [0, '0:00'],
    [6.2, '0:07'],
    [750, '12:30'],
    [3723, '1:02:03'],
    [undefined, '--:--'],
    [Infinity, '--:--'],
  ])('%s -> %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('formatProgressLine', () => {
  const mib = 1024 * 1024;
  const values = { label: 'oci-archive:build-a.tar', done: 54.1 * mib, total: 120 * mib, rate: 12 * mib };

  it('bytes done of total, percentage, rate and time left, with a bar on a wide terminal', () => {
    const line = formatProgressLine(values, 120);
    expect(line).toBe('oci-archive:build-a.tar  [==============----------------]  45% 54.1 MiB / 120.0 MiB  12.0 MiB/s  ETA 0:06');
    expect(line.length).toBeLessThan(120);
  });

  it('never wider than the terminal: the bar shrinks, then goes, then the label is cut from the left', () => {
    for (const width of [100, 80, 70, 60]) expect(formatProgressLine(values, width).length).toBeLessThan(width);
    expect(formatProgressLine(values, 90)).toMatch(/^oci-archive:build-a\.tar {2}\[[=-]{10,30}\] /);
    expect(formatProgressLine(values, 80)).toBe('oci-archive:build-a.tar   45% 54.1 MiB / 120.0 MiB  12.0 MiB/s  ETA 0:06');
    expect(formatProgressLine(values, 65)).toBe('…ve:build-a.tar   45% 54.1 MiB / 120.0 MiB  12.0 MiB/s  ETA 0:06');
  });

  it('no rate yet: no time left either; done: no time left, full bar', () => {
    expect(formatProgressLine({ ...values, rate: undefined }, 120)).toMatch(/ {2}--  ETA --:--$/);
    const done = formatProgressLine({ ...values, done: values.total }, 120);
    expect(done).toContain('[==============================] 100% 120.0 MiB / 120.0 MiB');
    expect(done).toMatch(/ETA 0:00$/);
  });

  it('an image with nothing to read is complete, not a division by zero', () => {
    expect(formatProgressLine({ label: 'x', done: 0, total: 0, rate: undefined }, 80)).toContain('100% 0 B / 0 B');
  });
});

import { describe, expect, it } from 'vitest';
import { formatMode } from '../../src/diff/mode.js';

describe('formatMode', () => {
  it('spells a mode in octal with a leading 0 and at least three digits, the file-type bits kept', () => {
    expect(formatMode(0o644)).toBe('0644');
    expect(formatMode(0o4755)).toBe('04755');
    expect(formatMode(0o100644)).toBe('0100644');
    expect(formatMode(0o7)).toBe('0007');
    expect(formatMode(0)).toBe('0000');
  });
});

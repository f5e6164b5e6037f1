import { describe, expect, it } from 'vitest';
import { parseMode } from '../../src/diff/mode.js';

describe('parseMode', () => {
  it('parses modes as numbers or octal strings', () => {
    expect(parseMode(0o644)).toBe(0o644);
    expect(parseMode('0644')).toBe(0o644);
    expect(parseMode('755')).toBe(0o755);
    expect(parseMode('0o750')).toBe(0o750);
    expect(parseMode('rw-r--r--')).toBeNull();
    expect(parseMode(-1)).toBeNull();
  });
});

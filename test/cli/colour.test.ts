// The colour decision (src/cli/colour.ts) as a pure function, and through the binary on a pipe and a terminal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shouldColour } from '../../src/cli/colour.js';
import { TempDir } from '../helpers/images.js';
import { skipWithoutTools } from '../helpers/real-tools.js';
import { writeImagePairs, type ImagePair } from '../app/fixtures.js';
import { runCli, runCliInTerminal } from '../helpers/cli.js';

const ansi = /\u001b\[/;

describe('shouldColour', () => {
  it.each<[string, Record<string, string>, boolean | undefined, boolean]>([
    ['a terminal', {}, true, true],
    ['a pipe', {}, false, false],
    ['an unknown stream', {}, undefined, false],
    ['NO_COLOR=1 on a terminal', { NO_COLOR: '1' }, true, false],
    ['NO_COLOR=0 on a terminal (any non-empty value)', { NO_COLOR: '0' }, true, false],
    ['an empty NO_COLOR on a terminal', { NO_COLOR: '' }, true, true],
    ['FORCE_COLOR=1 on a pipe', { FORCE_COLOR: '1' }, false, true],
    ['FORCE_COLOR=2 on a pipe', { FORCE_COLOR: '2' }, false, true],
    ['FORCE_COLOR=3 on a pipe', { FORCE_COLOR: '3' }, false, true],
    ['FORCE_COLOR=true on a pipe', { FORCE_COLOR: 'true' }, false, true],
    ['FORCE_COLOR=0 on a terminal', { FORCE_COLOR: '0' }, true, false],
    ['FORCE_COLOR=false on a terminal', { FORCE_COLOR: 'false' }, true, false],
    ['an unknown FORCE_COLOR on a pipe (ignored)', { FORCE_COLOR: 'yes please' }, false, false],
    ['an unknown FORCE_COLOR on a terminal (ignored)', { FORCE_COLOR: '' }, true, true],
    ['FORCE_COLOR=1 with NO_COLOR=1 (the narrower setting wins)', { FORCE_COLOR: '1', NO_COLOR: '1' }, false, true],
  ])('%s', (_name, env, isTTY, expected) => {
    expect(shouldColour(env, isTTY)).toBe(expected);
  });
});

describe('verify through the binary', () => {
  let dir: TempDir;
  let pair: ImagePair;
  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-colour-');
    pair = (await writeImagePairs(dir))['not-reproducible'];
  });
  afterAll(async () => dir?.remove());

  it('FORCE_COLOR=1 colours the text report on a pipe, and never JSON', async () => {
    const text = await runCli(['verify', pair.a, pair.b], { cwd: dir.path, env: { FORCE_COLOR: '1' } });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(ansi);
    const json = await runCli(['verify', pair.a, pair.b, '--format', 'json'], { cwd: dir.path, env: { FORCE_COLOR: '1' } });
    expect(json.stdout).not.toMatch(ansi);
    expect(JSON.parse(json.stdout)).toMatchObject({ verdict: 'not-reproducible' });
  });

  it('NO_COLOR=1 keeps a terminal report plain', async (context) => {
    if (skipWithoutTools('script')) context.skip('script (util-linux) not installed');
    // A pseudo-terminal on stdout; stderr (progress) goes to /dev/null.
    const underTerminal = (env: Record<string, string>) => runCliInTerminal(['verify', pair.a, pair.b], '2>/dev/null', { cwd: dir.path, env });
    const plain = await underTerminal({ NO_COLOR: '1' });
    expect(plain.code).toBe(1);
    expect(plain.stdout).toContain('NOT REPRODUCIBLE');
    expect(plain.stdout).not.toMatch(ansi);
    // The same terminal without NO_COLOR is coloured: the check above can fail.
    expect((await underTerminal({})).stdout).toMatch(ansi);
  });
});

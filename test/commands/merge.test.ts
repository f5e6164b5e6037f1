// `oci-repro merge` reads local JSON reports: its help offers only the flags it uses.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const sourceFlags = ['--platform', '--creds', '--tls-verify', '--cert-file'];

describe('merge --help', () => {
  it('lists its own flags and none of the source flags verify takes', async () => {
    const [merge, verify] = await Promise.all([runCli(['merge', '--help']), runCli(['verify', '--help'])]);
    expect(merge.code).toBe(0);
    expect(merge.stdout).toContain('--format');
    expect(merge.stdout).toContain('--verbose');
    expect(merge.stdout).toContain('--json');
    for (const flag of sourceFlags) {
      expect(merge.stdout, flag).not.toContain(flag);
      // The same check finds them where they apply.
      expect(verify.stdout, flag).toContain(flag);
    }
  });

  it('refuses a source flag as a usage error (exit 2)', async () => {
    const run = await runCli(['merge', '--creds', 'u:p', 'shard-1.json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/--creds/);
  });
});

// examples/ci/gitlab-ci.yml: the JUnit file the job writes is the one GitLab reads as a test report,
// uploaded also when the gate fails, and the job's verify line, run by bash on the bundled pair, writes
// valid JUnit and the attestation it uploads.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { binPath, cliEnv } from './helpers/cli.js';
import { repoRoot } from './helpers/golden.js';
import { TempDir } from './helpers/images.js';
import { runTool } from './helpers/real-tools.js';
import { validateAgainst } from './helpers/report-schema.js';

type Job = { script: string[]; artifacts: { when: string; paths: string[]; reports: { junit: string } } };

describe('examples/ci/gitlab-ci.yml', { timeout: 120_000 }, () => {
  let dir: TempDir;
  let template: { variables: Record<string, string>; 'oci-repro': Job };
  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-gitlab-');
    template = parse(await readFile(join(repoRoot, 'examples/ci/gitlab-ci.yml'), 'utf8')) as typeof template;
  });
  afterAll(async () => dir?.remove());

  it('uploads the JUnit report it writes as artifacts:reports:junit, also when the job fails', () => {
    const job = template['oci-repro'];
    const verifyLine = job.script.find((line) => line.startsWith('oci-repro verify'))!;
    const written = /--format junit .*> (\S+)$/.exec(verifyLine)?.[1];
    expect(written).toBeDefined();
    expect(job.artifacts.reports.junit).toBe(written);
    expect(job.artifacts.when).toBe('always');
    expect(job.artifacts.paths).toContain(/--attest (\S+)/.exec(verifyLine)?.[1]);
  });

  it('its verify line, run by bash on the bundled pair, writes JUnit and a valid attestation', async () => {
    const bin = dir.join('bin');
    await mkdir(bin);
    await writeFile(join(bin, 'oci-repro'), `#!/bin/sh\nexec "${process.execPath}" "${binPath}" "$@"\n`);
    await chmod(join(bin, 'oci-repro'), 0o755);
    const verifyLine = template['oci-repro'].script.find((line) => line.startsWith('oci-repro verify'))!;
    const env = cliEnv({
      PATH: `${bin}:${process.env.PATH}`,
      IMAGE_A: join(repoRoot, 'examples/build-a.tar'),
      IMAGE_B: join(repoRoot, 'examples/build-b.tar'),
    });
    await runTool('bash', ['-euo', 'pipefail', '-c', verifyLine], { env, cwd: dir.path });
    const junit = await readFile(dir.join('oci-repro.xml'), 'utf8');
    expect(junit).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="oci-repro" tests="\d+" failures="0"/);
    expect(validateAgainst('attestation.schema.json', JSON.parse(await readFile(dir.join('oci-repro.intoto.json'), 'utf8')))).toEqual([]);
  });
});

// action.yml against the action metadata rules (GitHub docs, "Metadata syntax reference":
// https://docs.github.com/en/actions/reference/workflows-and-actions/metadata-syntax), written as a
// JSON schema in test/fixtures/github-action/ and checked with ajv; its references checked against the
// inputs and steps it declares; and its two scripts run as the runner would run them.
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { binPath, cliEnv } from './helpers/cli.js';
import { repoRoot } from './helpers/golden.js';
import { TempDir } from './helpers/images.js';
import { runTool } from './helpers/real-tools.js';
import { createAjv } from './helpers/report-schema.js';

type Action = {
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: { id?: string; run?: string; shell?: string; uses?: string; env?: Record<string, string> }[] };
};

const readAction = async () => parse(await readFile(join(repoRoot, 'action.yml'), 'utf8')) as Action;
const schema = JSON.parse(await readFile(join(repoRoot, 'test/fixtures/github-action/metadata.schema.json'), 'utf8')) as object;
const validate = createAjv().compile(schema);
const errorsOf = (value: unknown) => (validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

describe('action.yml', () => {
  it('follows the action metadata rules', async () => {
    expect(errorsOf(await readAction())).toEqual([]);
  });

  it('the rules catch what GitHub refuses', async () => {
    const spoilers: [string, (action: any) => void][] = [
      ['no name', (a) => delete a.name],
      ['an input without description', (a) => delete a.inputs['image-a'].description],
      ['an input with an unknown key', (a) => (a.inputs['image-a'].type = 'string')],
      ['a composite output without value', (a) => delete a.outputs.verdict.value],
      ['a run step without shell', (a) => delete a.runs.steps[0].shell],
      ['a step with both run and uses', (a) => (a.runs.steps[0].uses = 'actions/checkout@v4')],
      ['an unknown runner', (a) => (a.runs.using = 'node12')],
    ];
    for (const [what, spoil] of spoilers) {
      const action = await readAction();
      spoil(action);
      expect(errorsOf(action).length, what).toBeGreaterThan(0);
    }
  });

  it('refers only to inputs it declares and steps it has; its outputs are ones the steps write', async () => {
    const action = await readAction();
    const text = await readFile(join(repoRoot, 'action.yml'), 'utf8');
    const inputs = [...text.matchAll(/\binputs\.([A-Za-z0-9_-]+)/g)].map((m) => m[1]!);
    for (const name of inputs) expect(Object.keys(action.inputs), `inputs.${name}`).toContain(name);
    const ids = action.runs.steps.map((step) => step.id).filter(Boolean);
    const script = await readFile(join(repoRoot, 'action/verify.sh'), 'utf8');
    const cli = await readFile(join(repoRoot, 'src/cli/github-actions.ts'), 'utf8');
    for (const [, step, output] of text.matchAll(/steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)) {
      expect(ids, `steps.${step}`).toContain(step);
      if (step === 'run') expect(script.includes(`${output}=`) || cli.includes(`'${output}'`) || cli.includes(`${output}:`), `output ${output} is written`).toBe(true);
    }
    // Every input the run step gets is read by the script, and the other way round.
    const env = Object.keys(action.runs.steps.find((step) => step.id === 'run')!.env ?? {}).filter((name) => name.startsWith('INPUT_'));
    const read = [...new Set([...script.matchAll(/\$\{?(INPUT_[A-Z_]+)/g)].map((m) => m[1]!))].filter((name) => name !== 'INPUT_REPORT');
    expect(read.sort()).toEqual(env.sort());
  });

  it('its scripts exist and are executable', async () => {
    for (const name of ['action/verify.sh', 'action/comment.sh']) {
      expect((await stat(join(repoRoot, name))).mode & 0o111, name).not.toBe(0);
    }
  });
});

describe('the action scripts, run as the runner would', { timeout: 120_000 }, () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-action-');
  });
  afterAll(async () => dir?.remove());

  it('verify.sh: the report file, the job summary, the outputs (verdict, digests, exit code) of one run', async () => {
    const temp = dir.join('runner-temp');
    await mkdir(temp);
    const outputs = dir.join('github-output');
    const summary = dir.join('step-summary');
    await writeFile(summary, '');
    const env = {
      ...cliEnv(),
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: outputs,
      GITHUB_STEP_SUMMARY: summary,
      RUNNER_TEMP: temp,
      OCI_REPRO_BIN: `${process.execPath} ${binPath}`,
      INPUT_IMAGE_A: 'examples/build-a.tar',
      INPUT_IMAGE_B: 'examples/build-b.tar',
      INPUT_FORMAT: 'junit',
      INPUT_ARGS: '--verify-blobs',
    };
    // runTool rejects on a non-zero exit: the script always exits 0 and reports the code as an output.
    await runTool('bash', [join(repoRoot, 'action/verify.sh')], { env, cwd: repoRoot });
    const written = Object.fromEntries(
      (await readFile(outputs, 'utf8')).trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(written).toMatchObject({ verdict: 'reproducible', passed: 'true', 'exit-code': '0', report: join(temp, 'oci-repro-report.xml') });
    expect(written['canonical-digest-a']).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(written['canonical-digest-a']).toBe(written['canonical-digest-b']);
    expect(await readFile(written.report!, 'utf8')).toMatch(/^<\?xml/);
    const markdown = await readFile(written.summary!, 'utf8');
    expect(markdown).toMatch(/reproducible/i);
    expect(await readFile(summary, 'utf8')).toBe(markdown);
  });

  it('comment.sh: posts one comment with the marker, then edits it (gh is a FAKE recording its calls)', async () => {
    const bin = dir.join('fake-bin');
    await mkdir(bin, { recursive: true });
    const log = dir.join('gh.log');
    const state = dir.join('gh.state');
    // The fake answers the list query with the id of the comment it "posted", if any.
    const fakeGh = [
      '#!/usr/bin/env bash',
      'printf "%s\\n" "$*" >>LOG',
      'for arg in "$@"; do case "$arg" in body=@*) cp "${arg#body=@}" BODY ;; esac; done',
      'case "$*" in',
      '  *--jq*) if [ -f STATE ]; then cat STATE; fi ;;',
      '  *"--method POST"*) echo 4242 >STATE ;;',
      'esac',
      '',
    ].join('\n');
    await writeFile(join(bin, 'gh'), fakeGh.replace(/LOG/g, log).replace(/STATE/g, state).replace(/BODY/g, dir.join('body.md')));
    await chmod(join(bin, 'gh'), 0o755);
    const summary = dir.join('summary.md');
    await writeFile(summary, '## oci-repro: reproducible\n');
    const env = { ...cliEnv(), PATH: `${bin}:${process.env.PATH}`, GITHUB_REPOSITORY: 'team/app', PR_NUMBER: '7', SUMMARY_FILE: summary, MARKER_ID: 'gate', RUNNER_TEMP: dir.path };
    const first = await runTool('bash', [join(repoRoot, 'action/comment.sh')], { env });
    expect(first.stdout.toString()).toMatch(/posted a comment/);
    expect(await readFile(dir.join('body.md'), 'utf8')).toBe('<!-- oci-repro-report:gate -->\n## oci-repro: reproducible\n');
    const second = await runTool('bash', [join(repoRoot, 'action/comment.sh')], { env });
    expect(second.stdout.toString()).toMatch(/updated comment 4242/);
    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    expect(calls.filter((call) => call.includes('--method POST'))).toEqual([expect.stringContaining('repos/team/app/issues/7/comments')]);
    expect(calls.filter((call) => call.includes('--method PATCH'))).toEqual([expect.stringContaining('repos/team/app/issues/comments/4242')]);
    expect(calls.filter((call) => call.includes('--jq'))).toEqual([
      expect.stringContaining('startswith("<!-- oci-repro-report:gate -->")'),
      expect.stringContaining('startswith("<!-- oci-repro-report:gate -->")'),
    ]);
  });
});

// examples/k8s and examples/ci/github-fleet.yml: they parse, have the fields their engines need, and
// the commands the Kubernetes Jobs run, run here against the bundled example images, give the fleet's report.
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parsePairs } from '../../src/fleet/pairs-file.js';
import type { FleetReport } from '../../src/report/fleet-model.js';
import { binPath } from '../helpers/cli.js';
import { repoRoot } from '../helpers/golden.js';
import { TempDir } from '../helpers/images.js';

interface Container {
  image: string;
  command: string[];
  args: string[];
  env?: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  restartPolicy: string;
  containers: Container[];
  volumes: { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }[];
}
interface K8sDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec: { completionMode?: string; completions?: number; parallelism?: number; template: { spec: PodSpec } };
}

const readDocs = async (file: string) => parseAllDocuments(await readFile(join(repoRoot, 'examples/k8s', file), 'utf8')).map((doc) => doc.toJS() as K8sDoc);

let docs: K8sDoc[];
let merge: K8sDoc;
let dir: TempDir;

beforeAll(async () => {
  docs = await readDocs('fleet.yaml');
  [merge] = await readDocs('merge-job.yaml');
  dir = await TempDir.create('oci-repro-k8s-');
});
afterAll(async () => dir?.remove());

const job = () => docs.find((doc) => doc.kind === 'Job')!;
const shards = () => Number(job().spec.template.spec.containers[0]!.env!.find((entry) => entry.name === 'SHARDS')!.value);

/** A Job's shell script as this machine runs it: the image's node and paths replaced by ours. */
function localScript(container: Container, paths: { config: string; reports: string }): string {
  expect(container.command).toEqual(['/bin/sh', '-c']);
  return container.args[0]!
    .replaceAll('/usr/local/bin/node /app/bin/run.js', `'${process.execPath}' '${binPath}'`)
    .replaceAll('/config/', `${paths.config}/`)
    .replaceAll('/reports', paths.reports);
}

function sh(script: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', script], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('examples/k8s', () => {
  it('is a ConfigMap of a valid pairs file, a volume and an Indexed Job of N shards', () => {
    expect(docs.map((doc) => doc.kind)).toEqual(['ConfigMap', 'PersistentVolumeClaim', 'Job']);
    const pairs = parsePairs(docs[0]!.data!['pairs.yaml']!, 'fleet.yaml#pairs.yaml');
    expect(pairs.length).toBeGreaterThan(0);
    const { spec } = job();
    expect(job().apiVersion).toBe('batch/v1');
    expect(spec.completionMode).toBe('Indexed');
    expect(spec.completions).toBe(shards());
    expect(spec.parallelism).toBe(shards());
    expect(spec.template.spec.restartPolicy).toBe('Never');
    const [container] = spec.template.spec.containers;
    expect(container!.args[0]).toContain('JOB_COMPLETION_INDEX');
    expect(container!.args[0]).toContain('--shard "$shard/$SHARDS"');
    expect(container!.volumeMounts.map((mount) => mount.mountPath).sort()).toEqual(['/config', '/reports']);
    expect(spec.template.spec.volumes.find((volume) => volume.configMap)?.configMap?.name).toBe(docs[0]!.metadata.name);
  });

  it('merges every shard from the same image and volume', () => {
    expect(merge.kind).toBe('Job');
    const [container] = merge.spec.template.spec.containers;
    expect(container!.image).toBe(job().spec.template.spec.containers[0]!.image);
    const claim = (doc: K8sDoc) => doc.spec.template.spec.volumes.find((volume) => volume.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    expect(claim(merge)).toBe(docs[1]!.metadata.name);
    expect(claim(job())).toBe(docs[1]!.metadata.name);
    const list = Array.from({ length: shards() }, (_, i) => `shard-${i + 1}.json`).join(' ');
    expect(container!.args[0]).toContain(`merge ${list}`);
  });

  it('runs: each index writes its shard report and the merge step gives the whole fleet and its exit code', async () => {
    const config = dir.join('config');
    const reports = dir.join('reports');
    await mkdir(config);
    await mkdir(reports);
    const example = (name: string) => join(repoRoot, 'examples', name);
    const names = ['hello', 'hello-swapped', 'hello-same', 'hello-b', 'missing'];
    await writeFile(
      join(config, 'pairs.yaml'),
      [
        `- {name: hello, a: '${example('build-a.tar')}', b: '${example('build-b.tar')}'}`,
        `- {name: hello-swapped, a: '${example('build-b.tar')}', b: '${example('build-a.tar')}'}`,
        `- {name: hello-same, a: '${example('build-a.tar')}', b: '${example('build-a.tar')}'}`,
        `- {name: hello-b, a: '${example('build-b.tar')}', b: '${example('build-b.tar')}'}`,
        `- {name: missing, a: '${dir.join('nope.tar')}', b: '${example('build-a.tar')}'}`,
      ].join('\n'),
    );
    const paths = { config, reports };
    const runs = await Promise.all(
      Array.from({ length: shards() }, (_, index) => sh(localScript(job().spec.template.spec.containers[0]!, paths), { JOB_COMPLETION_INDEX: String(index), SHARDS: String(shards()) })),
    );
    // Every pod succeeds once its report is written, the missing image included.
    expect(runs.map((run) => run.code)).toEqual(runs.map(() => 0));
    const merged = await sh(localScript(merge.spec.template.spec.containers[0]!, paths), {});
    expect(merged.code).toBe(4);
    const report = JSON.parse(await readFile(join(reports, 'fleet.json'), 'utf8')) as FleetReport;
    expect(report.pairs.map((pair) => pair.name)).toEqual(names);
    expect(report).toMatchObject({ shard: null, exitCode: 4, counts: { pairs: 5, passed: 4, errors: 1 } });
    expect(await readFile(join(reports, 'fleet.xml'), 'utf8')).toMatch(/<testsuites name="oci-repro fleet" tests="\d+" failures="0" errors="1">/);
    expect(merged.stdout).toMatch(/^oci-repro verify --pairs: ERROR \(5 pairs\), gate FAILED \(exit 4\)$/m);
  }, 300_000);
});

describe('examples/ci/github-fleet.yml', () => {
  it('plans the matrix with --matrix, runs one job per shard and merges them', async () => {
    const workflow = parseYaml(await readFile(join(repoRoot, 'examples/ci/github-fleet.yml'), 'utf8')) as {
      jobs: Record<string, { needs?: string; strategy?: { matrix: string }; steps: { run?: string }[]; outputs?: Record<string, string> }>;
    };
    const { plan, verify, merge: mergeJob } = workflow.jobs;
    expect(plan!.steps.map((step) => step.run ?? '').join('\n')).toMatch(/verify --pairs "\$PAIRS" --matrix "\$SHARDS"/);
    expect(verify!.needs).toBe('plan');
    expect(verify!.strategy!.matrix).toBe('${{ fromJSON(needs.plan.outputs.matrix) }}');
    expect(verify!.steps.map((step) => step.run ?? '').join('\n')).toContain('--shard "${{ matrix.shard }}"');
    expect(mergeJob!.needs).toBe('verify');
    expect(mergeJob!.steps.map((step) => step.run ?? '').join('\n')).toMatch(/merge shard-\*\.json$/m);
  });
});

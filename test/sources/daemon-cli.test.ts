// docker-daemon: for real, through the binary: buildah builds an image into a private store, podman's
// `system service` serves that store's Docker Engine API on a unix socket, and inspect, verify and
// normalize read the image through DOCKER_HOST. buildah's own image ID and docker-archive export are the
// oracles; normalize --output docker:// then pushes what the daemon held to a real registry.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempDir } from '../helpers/images.js';
import { buildahBuild, buildahPush, skipWithoutTools, skopeoInspectConfig, skopeoInspectRaw, type BuildahBuild } from '../helpers/real-tools.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { sha256Of } from '../helpers/digest.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { startPodmanService, type PodmanService } from '../helpers/podman-service.js';

let dir: TempDir;

/** The binary with an empty HOME and Docker config, so no credentials of this machine leak in. */
function hermeticCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(args, { env: { HOME: dir.path, DOCKER_CONFIG: dir.join('no-docker-config'), ...env } });
}

function printed(stdout: string, label: string): string {
  const match = new RegExp(`^${label}\\s+(sha256:[a-f0-9]{64})`, 'm').exec(stdout);
  if (!match) throw new Error(`no "${label}" line in:\n${stdout}`);
  return match[1]!;
}

// Each test spawns the binary and podman exports the image; a loaded shared machine takes several times the usual.
describe.skipIf(skipWithoutTools('buildah', 'podman', 'docker-registry', 'skopeo'))('docker-daemon: through the binary, on podman system service', { timeout: 120_000 }, () => {
  let build: BuildahBuild;
  let service: PodmanService | undefined;
  let dockerHost: string;
  let archive: string;
  let registry: RunningRegistry;

  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-daemon-cli-');
    build = await buildahBuild({
      format: 'docker',
      dockerfile: 'FROM scratch\nCOPY greeting /usr/share/greeting\nCOPY tool /usr/local/bin/tool\nLABEL stage=daemon-test\n',
      context: { greeting: 'hello from a buildah build\n', tool: { data: '#!/bin/sh\necho tool\n', mode: 0o755 } },
    });
    // buildah's own export of the same image: the copy verify compares against.
    archive = dir.join('buildah-export.tar');
    await buildahPush(build, `docker-archive:${archive}:${build.name.replace(/^localhost\//, '')}`);
    // podman serves the store buildah built into: same --root, --runroot and driver.
    service = await startPodmanService(['--root', build.root, '--runroot', build.runroot, '--storage-driver', 'vfs'], join(dir.path, 'podman.sock'), {
      idleSeconds: 120,
    });
    dockerHost = service.dockerHost;
    registry = await startRegistry();
  });
  afterAll(async () => {
    await service?.stop();
    await registry?.stop();
    await build?.cleanup();
    await dir?.remove();
  });

  it('inspect docker-daemon:NAME (DOCKER_HOST): the image ID buildah wrote; a missing image is exit 4', async () => {
    const [found, missing, noDaemon] = await Promise.all([
      hermeticCli(['inspect', `docker-daemon:${build.name}`, '--json'], { DOCKER_HOST: dockerHost }),
      hermeticCli(['inspect', 'docker-daemon:localhost/no-such-image:1'], { DOCKER_HOST: dockerHost }),
      hermeticCli(['inspect', `docker-daemon:${build.name}`], { DOCKER_HOST: `unix://${dir.join('absent.sock')}` }),
    ]);
    expect(found.stderr).toBe('');
    expect(found.code).toBe(0);
    const identity = JSON.parse(found.stdout) as { imageId: string; layers: unknown[] };
    expect(identity.imageId).toBe(build.imageId);
    expect(identity.layers).toHaveLength(2);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/no image/);
    // The socket named by DOCKER_HOST is the one used: a wrong one fails, naming it.
    expect(noDaemon.code).toBe(4);
    expect(noDaemon.stderr).toContain('absent.sock');
  });

  it('verify docker-daemon:NAME against buildah\'s docker-archive export: identical (exit 0)', async () => {
    const run = await hermeticCli(['verify', `docker-daemon:${build.name}`, `docker-archive:${archive}`, '--format', 'json'], { DOCKER_HOST: dockerHost });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { verdict: string; a: { imageId: string; canonicalDigest: string }; b: { imageId: string; canonicalDigest: string } };
    expect(report.verdict).toBe('identical');
    expect(report.a.imageId).toBe(build.imageId);
    expect(report.b.imageId).toBe(build.imageId);
    expect(report.a.canonicalDigest).toBe(report.b.canonicalDigest);
  });

  it('normalize docker-daemon:NAME: the canonical digest of the archive copy; --output docker:// pushes it, skopeo agrees', async () => {
    const target = `docker://${registry.host}/from-daemon:1`;
    const [pushed, local] = await Promise.all([
      hermeticCli(['normalize', `docker-daemon:${build.name}`, '--output', target], { DOCKER_HOST: dockerHost }),
      hermeticCli(['normalize', `docker-archive:${archive}`]),
    ]);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(local.code).toBe(0);
    const canonical = printed(pushed.stdout, 'canonical digest');
    expect(canonical).toBe(printed(local.stdout, 'canonical digest'));
    const raw = await skopeoInspectRaw(target, registry.skopeoArgs(''));
    expect(sha256Of(raw.bytes)).toBe(printed(pushed.stdout, 'manifest digest'));
    const config = await skopeoInspectConfig(target, registry.skopeoArgs(''));
    expect(sha256Of(config.bytes)).toBe(canonical);
  });
});

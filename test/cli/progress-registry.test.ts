/**
 * A fetch from a real registry (docker-registry on 127.0.0.1) under a pseudo-terminal: besides the
 * image's bar, each blob being fetched gets its own line with its digest, bytes and total.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { makeTar } from '../helpers/tar.js';
import { skipWithoutTools, skopeoCopy, skopeoInspectRaw, type Descriptor } from '../helpers/real-tools.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { runCli, runCliInTerminal } from '../helpers/cli.js';

describe.skipIf(skipWithoutTools('docker-registry', 'skopeo', 'script'))('progress of a registry fetch', () => {
  let registry: RunningRegistry;
  let dir: TempDir;
  let pushed: Descriptor[];
  beforeAll(async () => {
    registry = await startRegistry();
    dir = await TempDir.create('oci-repro-progress-registry-');
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const image = buildImage({
      layers: [
        { tar: await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'hello\n' }]) },
        { tar: await makeTar([{ name: 'data.bin', content: data }]), compression: 'none' },
      ],
    });
    const archive = await dir.writeArchive('app.tar', singleImageLayout(image));
    await skopeoCopy(`oci-archive:${archive}`, `docker://${registry.host}/team/app:v1`, registry.skopeoArgs('dest'));
    // skopeo compresses the uncompressed layer on the way: the registry's manifest names the blobs.
    pushed = (await skopeoInspectRaw(`docker://${registry.host}/team/app:v1`, registry.skopeoArgs(''))).json.layers!;
    expect(pushed).toHaveLength(2);
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
    await dir?.remove();
  });

  it('normalize docker://...: a line per blob in flight, with its digest and bytes of its size; the report as on a pipe', async () => {
    const reference = `docker://${registry.host}/team/app:v1`;
    const shown = await runCliInTerminal(['normalize', reference, '--tls-verify=false'], '>out.txt', { cwd: dir.path });
    const stdout = await readFile(dir.join('out.txt'), 'utf8');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(reference);
    for (const layer of pushed) {
      const line = new RegExp(`  ${layer.digest.slice(0, 'sha256:'.length + 12)}  .*\\d+(\\.\\d+)? (B|KiB|MiB) / \\d+(\\.\\d+)? (B|KiB|MiB)`);
      expect(shown.stdout).toMatch(line);
    }
    const piped = await runCli(['normalize', reference, '--tls-verify=false'], { cwd: dir.path });
    expect(piped.stderr).toBe('');
    expect(stdout).toBe(piped.stdout);
  }, 120_000);
});

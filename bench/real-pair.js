#!/usr/bin/env node
/**
 * The real apt-style pair of docs/diffoscope-side-by-side.md: a debootstrap'd Debian base (cached in
 * /var/tmp/oci-repro-debootstrap, shared with other tools), then two `buildah bud --no-cache` builds of
 * bench/real-pair/Dockerfile (apt-get install python3, compileall, a gzip'd file, a tar.gz made in the
 * build), cached in /var/tmp/oci-repro-realpair. Writes the pair as oci-archives and as docker-archives
 * with the same member names on both sides (config.json, N/layer.tar.gz), which diffoscope pairs by
 * name (bench/README.md). Needs root, buildah and debootstrap, and the Debian mirror of apt's sources.
 *
 *   node bench/real-pair.js          # build what is not cached; print the paths as JSON
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const baseDir = '/var/tmp/oci-repro-debootstrap';
export const pairDir = '/var/tmp/oci-repro-realpair';
const here = path.dirname(fileURLToPath(import.meta.url));
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });

/** apt's own mirror (deb822 or one-line sources), not a host name written down here. */
function debianMirror() {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    const found = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s/m.exec(text);
    if (found) return found[1];
  }
  throw new Error('no Debian mirror in apt sources');
}

/** The base as an oci-archive (a debootstrap --variant=minbase bookworm root, FROM scratch + ADD). */
function ensureBase(buildah) {
  const archive = path.join(baseDir, 'bookworm-minbase.oci.tar');
  if (fs.existsSync(archive)) return archive;
  fs.mkdirSync(baseDir, { recursive: true });
  const rootfs = path.join(baseDir, 'rootfs.tar');
  if (!fs.existsSync(rootfs)) {
    const tree = path.join(baseDir, 'bookworm');
    fs.rmSync(`${tree}.tmp`, { recursive: true, force: true });
    run('debootstrap', ['--variant=minbase', 'bookworm', `${tree}.tmp`, debianMirror()]);
    run('tar', ['--numeric-owner', '-C', `${tree}.tmp`, '-cf', `${rootfs}.tmp`, '.']);
    fs.renameSync(`${rootfs}.tmp`, rootfs);
    fs.renameSync(`${tree}.tmp`, tree);
  }
  const context = path.join(pairDir, 'basectx');
  fs.mkdirSync(context, { recursive: true });
  fs.rmSync(path.join(context, 'rootfs.tar'), { force: true });
  fs.linkSync(rootfs, path.join(context, 'rootfs.tar'));
  fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n');
  run('buildah', [...buildah, 'bud', '--isolation', 'chroot', '--timestamp', '0', '-t', 'minbase', context]);
  run('buildah', [...buildah, 'push', 'minbase', `oci-archive:${archive}.tmp:bookworm-minbase`]);
  fs.renameSync(`${archive}.tmp`, archive);
  run('buildah', [...buildah, 'rmi', 'minbase']);
  return archive;
}

/** A docker-archive whose member names do not depend on digests, from an oci-archive. */
function stableDockerArchive(ociArchive, out) {
  if (fs.existsSync(out)) return out;
  const staging = `${out}.staging`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.join(staging, 'oci'), { recursive: true });
  run('tar', ['-xf', ociArchive, '-C', path.join(staging, 'oci')]);
  const blob = (digest) => path.join(staging, 'oci', 'blobs', 'sha256', digest.slice('sha256:'.length));
  const index = JSON.parse(fs.readFileSync(path.join(staging, 'oci', 'index.json'), 'utf8'));
  const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest), 'utf8'));
  const tree = path.join(staging, 'docker');
  fs.mkdirSync(tree);
  fs.renameSync(blob(manifest.config.digest), path.join(tree, 'config.json'));
  const layers = manifest.layers.map((layer, i) => {
    fs.mkdirSync(path.join(tree, String(i)));
    fs.renameSync(blob(layer.digest), path.join(tree, String(i), 'layer.tar.gz'));
    return `${i}/layer.tar.gz`;
  });
  fs.writeFileSync(path.join(tree, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['apt:latest'], Layers: layers }]));
  run('tar', ['--sort=name', '-cf', `${out}.part`, '-C', tree, '.']);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.renameSync(`${out}.part`, out);
  return out;
}

export function ensureRealPair() {
  const buildah = ['--root', path.join(pairDir, 'store'), '--runroot', path.join(pairDir, 'run'), '--storage-driver', 'vfs'];
  fs.mkdirSync(pairDir, { recursive: true });
  const base = ensureBase(buildah);
  const context = path.join(pairDir, 'ctx');
  fs.mkdirSync(context, { recursive: true });
  const dockerfile = fs.readFileSync(path.join(here, 'real-pair', 'Dockerfile'), 'utf8').replace('BASE_ARCHIVE', base);
  fs.writeFileSync(path.join(context, 'Dockerfile'), dockerfile);
  const pair = {};
  for (const side of ['a', 'b']) {
    const oci = path.join(pairDir, `apt-${side}.oci.tar`);
    if (!fs.existsSync(oci)) {
      run('buildah', [...buildah, 'bud', '--isolation', 'chroot', '--layers', '--no-cache', '-t', `apt-${side}`, context]);
      run('buildah', [...buildah, 'push', `apt-${side}`, `oci-archive:${oci}.tmp:apt`]);
      fs.renameSync(`${oci}.tmp`, oci);
      run('buildah', [...buildah, 'rmi', `apt-${side}`]);
    }
    pair[side] = { oci, docker: stableDockerArchive(oci, path.join(pairDir, `apt-${side}.stable.docker.tar`)) };
  }
  return pair;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(ensureRealPair(), null, 2));

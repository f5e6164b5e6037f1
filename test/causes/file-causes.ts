/**
 * Files as the installers and build tools that the cause catalogue names write them, two builds apart:
 * for each cause a path, its content in build A and in build B (differing where the tool lets the clock,
 * a random source or a resolver in), and a near-miss path the cause must not name. Archives are valid
 * archives (a gzip header with another time, a tar with other member times, a zip with another DOS
 * time), so a decoder that reads them finds what a real build would leave.
 */
import { crc32 } from 'node:zlib';
import { gzipWithHeader } from '../helpers/noise.js';
import { buildTar } from '../helpers/tar.js';

export interface CauseFile {
  cause: string;
  path: string;
  a: Buffer | string;
  b: Buffer | string;
  /** A path near `path` that this cause must not name (it may have another cause, or none). */
  nearMiss: string;
}

const buildA = new Date('2024-03-01T10:00:00Z');
const buildB = new Date('2024-03-02T11:30:00Z');
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** A one-member zip (stored), whose local and central headers carry `date` as a DOS time. */
export function storedZip(name: string, content: string, date: Date): Buffer {
  const data = Buffer.from(content);
  const fileName = Buffer.from(name);
  const time = (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1);
  const day = ((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate();
  const crc = crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4);
  local.writeUInt16LE(time, 10);
  local.writeUInt16LE(day, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(0x031e, 4);
  central.writeUInt16LE(10, 6);
  central.writeUInt16LE(time, 12);
  central.writeUInt16LE(day, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
  const directoryAt = local.length + fileName.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fileName.length, 12);
  end.writeUInt32LE(directoryAt, 16);
  return Buffer.concat([local, fileName, data, central, fileName, end]);
}

const gzipped = (text: string, name: string, date: Date) => gzipWithHeader(Buffer.from(text), { name, mtime: seconds(date) });
const tarOf = async (date: Date) => buildTar([{ name: 'assets/', mtime: date }, { name: 'assets/app.css', content: 'body{margin:0}\n', mtime: date }]);
const fontCache = (dirTime: Date) => {
  // fontconfig cache header: magic 0xfc0200fc, version 7, then the indexed directory's time (checksum).
  const header = Buffer.alloc(48);
  header.writeUInt32LE(0xfc0200fc, 0);
  header.writeUInt32LE(7, 4);
  header.writeBigInt64LE(BigInt(seconds(dirTime)), 32);
  return Buffer.concat([header, Buffer.from('/usr/share/fonts/truetype/dejavu\0')]);
};
const hiddenLockfile = (resolved: string) =>
  `${JSON.stringify(
    {
      name: 'app',
      lockfileVersion: 3,
      requires: true,
      packages: { 'node_modules/lodash': { version: '4.17.21', resolved, integrity: 'sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==' } },
    },
    null,
    2,
  )}\n`;

/** Every cause of this change, with a realistic pair of files. */
export async function causeFiles(): Promise<CauseFile[]> {
  return [
    { cause: 'fontconfig-cache', path: 'var/cache/fontconfig/7ef2298fde41cc6eeb7af42e48b7d293-le64.cache-7', a: fontCache(buildA), b: fontCache(buildB), nearMiss: 'etc/fonts/local.conf' },
    { cause: 'fontconfig-uuid', path: 'usr/share/fonts/truetype/dejavu/.uuid', a: '0b5c3f6e-5bb1-4a24-9a1e-1c2e0d5f6a71', b: 'd1e4a3c2-77b0-4f3e-8d2a-5e6f7a8b9c0d', nearMiss: 'opt/app/.uuid' },
    {
      cause: 'ssh-host-keys',
      path: 'etc/ssh/ssh_host_ed25519_key.pub',
      a: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbX2M5uQ7m0Kq1r9dYpZ1c8T3wP4kR6sVn2L0aF5eGh root@buildhost-a\n',
      b: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK9pW3vB7xN2mQ4sT8yR1eU6oL5aD0fH3gJ9kC2zX7iV root@buildhost-b\n',
      nearMiss: 'etc/ssh/ssh_known_hosts',
    },
    { cause: 'random-seed', path: 'var/lib/systemd/random-seed', a: Buffer.alloc(512, 0x5a), b: Buffer.alloc(512, 0xa5), nearMiss: 'var/lib/systemd/catalog/database' },
    {
      cause: 'npm-hidden-lockfile',
      path: 'usr/src/app/node_modules/.package-lock.json',
      a: hiddenLockfile('https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz'),
      b: hiddenLockfile('https://npm.mirror.example/lodash/-/lodash-4.17.21.tgz'),
      nearMiss: 'usr/src/app/package-lock.json',
    },
    { cause: 'yarn-cache', path: 'usr/local/share/.cache/yarn/v6/.tmp/1f2e3d/.yarn-metadata.json', a: '{"fetched":1709287200}', b: '{"fetched":1709379000}', nearMiss: 'usr/src/app/yarn.lock' },
    { cause: 'node-gyp-cache', path: 'root/.cache/node-gyp/20.11.1/installVersion', a: '9\n', b: '11\n', nearMiss: 'usr/src/app/build/Release/addon.node' },
    {
      cause: 'jvm-build-cache',
      path: 'root/.m2/repository/org/slf4j/slf4j-api/2.0.9/_remote.repositories',
      a: '#Fri Mar 01 10:00:00 UTC 2024\nslf4j-api-2.0.9.jar>central=\n',
      b: '#Sat Mar 02 11:30:00 UTC 2024\nslf4j-api-2.0.9.jar>central=\n',
      nearMiss: 'root/.mvn/wrapper/maven-wrapper.properties',
    },
    { cause: 'go-build-cache', path: 'root/.cache/go-build/trim.txt', a: `${seconds(buildA)}`, b: `${seconds(buildB)}`, nearMiss: 'root/go/bin/app' },
    { cause: 'apk-cache', path: 'var/cache/apk/APKINDEX.d8b2a6f4.tar.gz', a: gzipped('P:musl\nV:1.2.4-r2\n', 'APKINDEX', buildA), b: gzipped('P:musl\nV:1.2.4-r3\n', 'APKINDEX', buildB), nearMiss: 'etc/apk/repositories' },
    { cause: 'apk-scripts', path: 'lib/apk/db/scripts.tar', a: await tarOf(buildA), b: await tarOf(buildB), nearMiss: 'lib/apk/db/lock' },
    {
      cause: 'apk-database',
      path: 'lib/apk/db/installed',
      a: 'C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\n\n',
      b: 'C:Q1def=\nP:musl\nV:1.2.4-r3\nA:x86_64\n\n',
      nearMiss: 'etc/apk/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub',
    },
    { cause: 'rpm-database', path: 'var/lib/rpm/rpmdb.sqlite', a: `SQLite format 3\0installtime=${seconds(buildA)}`, b: `SQLite format 3\0installtime=${seconds(buildB)}`, nearMiss: 'var/lib/rpm-state/README' },
    { cause: 'dnf-cache', path: 'var/cache/dnf/fedora-2d95c80a1fa0a43d/repodata/repomd.xml', a: '<revision>1709287200</revision>', b: '<revision>1709379000</revision>', nearMiss: 'etc/dnf/dnf.conf' },
    { cause: 'dnf-history', path: 'var/lib/dnf/history.sqlite', a: `SQLite format 3\0dt_begin=${seconds(buildA)}`, b: `SQLite format 3\0dt_begin=${seconds(buildB)}`, nearMiss: 'etc/yum.repos.d/fedora.repo' },
    { cause: 'gzip-docs', path: 'usr/share/man/man1/myapp.1.gz', a: gzipped('.TH MYAPP 1\n', 'myapp.1', buildA), b: gzipped('.TH MYAPP 1\n', 'myapp.1', buildB), nearMiss: 'usr/share/man/man1/myapp.1' },
    { cause: 'java-archive', path: 'opt/app/app.jar', a: storedZip('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\n', buildA), b: storedZip('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\n', buildB), nearMiss: 'opt/app/app.jar.sha1' },
    {
      cause: 'python-archive',
      path: 'opt/dist/app-1.0-py3-none-any.whl',
      a: storedZip('app/__init__.py', '__version__ = "1.0"\n', buildA),
      b: storedZip('app/__init__.py', '__version__ = "1.0"\n', buildB),
      nearMiss: 'opt/dist/app-1.0.dist-info/WHEEL',
    },
    { cause: 'build-archive', path: 'opt/app/assets.tar', a: await tarOf(buildA), b: await tarOf(buildB), nearMiss: 'opt/app/assets.txt' },
  ];
}

/**
 * ArchiveIndex.openMember streams a member straight from its byte range in the archive: exactly its
 * bytes, nothing of the next member, and an empty member as empty (createReadStream without `end`
 * would read to the end of the file).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveIndex } from '../../src/sources/archive-index.js';
import { TempDir } from '../helpers/images.js';

let dir: TempDir;
let index: ArchiveIndex;

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-archive-index-');
  const path = await dir.writeArchive('a.tar', [
    { name: 'empty', content: '' },
    { name: 'middle', content: 'abcdef' },
    { name: 'last', content: 'x'.repeat(1500) },
  ]);
  index = await ArchiveIndex.open(path);
});
afterAll(async () => dir?.remove());

describe('ArchiveIndex.openMember', () => {
  it('reads each member as exactly its bytes', async () => {
    expect((await collect(index.openMember(index.resolve('middle')!))).toString()).toBe('abcdef');
    expect((await collect(index.openMember(index.resolve('last')!))).toString()).toBe('x'.repeat(1500));
  });

  it('reads an empty member as empty, not the rest of the archive', async () => {
    const member = index.resolve('empty')!;
    expect(member.size).toBe(0);
    expect((await collect(index.openMember(member))).length).toBe(0);
  });
});

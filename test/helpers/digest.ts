/**
 * SHA-256 in tests, with Node's own hash. test/helpers/real-tools.ts's `sha256File` is a different thing
 * on purpose: it asks the sha256sum binary, an oracle independent of Node and of our code.
 */
import { createHash } from 'node:crypto';

/** The hex SHA-256 of `data`. */
export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The OCI digest (`sha256:<hex>`) of `data`. */
export const sha256Of = (data: string | Uint8Array): string => `sha256:${sha256Hex(data)}`;

/** The OCI digest of everything `stream` yields (it is read to the end). */
export async function sha256OfStream(stream: AsyncIterable<unknown>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Uint8Array);
  return `sha256:${hash.digest('hex')}`;
}

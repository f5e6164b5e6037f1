import type { Readable, Transform } from 'node:stream';

/** Connects `source` to `next` so that an error on either ends the result with that error. */
export function chain(source: Readable, next: Transform): Readable {
  source.on('error', (error) => next.destroy(error));
  return source.pipe(next);
}

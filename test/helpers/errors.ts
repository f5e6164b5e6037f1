// The typed error an operation fails with, for assertions on its fields (code, exit code, message).
import { OciReproError } from '../../src/errors.js';

/** The OciReproError `promise` rejects with; throws if it resolves, and rethrows any other error. */
export async function caughtError(promise: Promise<unknown>): Promise<OciReproError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OciReproError) return error;
    throw error;
  }
  throw new Error('expected the promise to reject with an OciReproError, but it resolved');
}

/** The OciReproError `run` throws; throws if it returns, and rethrows any other error. */
export function thrownError(run: () => unknown): OciReproError {
  try {
    run();
  } catch (error) {
    if (error instanceof OciReproError) return error;
    throw error;
  }
  throw new Error('expected an OciReproError to be thrown, but the call returned');
}

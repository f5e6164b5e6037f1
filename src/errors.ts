/**
 * Typed errors of the library core. Commands map `exitCode` to the process exit code;
 * the core itself never exits or prints.
 */

export const ExitCode = {
  ok: 0,
  notReproducible: 1,
  usage: 2,
  badInput: 3,
  unavailable: 4,
  internal: 70,
  /** sysexits EX_IOERR: the environment failed a write (disk full, read-only, no permission), not us. */
  io: 74,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'USAGE'
  | 'BAD_REFERENCE'
  | 'BAD_INPUT'
  | 'DIGEST_MISMATCH'
  | 'UNSUPPORTED'
  | 'CORRUPT_ARCHIVE'
  | 'NOT_FOUND'
  | 'UNAVAILABLE'
  | 'AUTH'
  | 'IO'
  | 'INTERNAL';

const exitCodeOf: Record<ErrorCode, ExitCode> = {
  USAGE: ExitCode.usage,
  BAD_REFERENCE: ExitCode.usage,
  BAD_INPUT: ExitCode.badInput,
  DIGEST_MISMATCH: ExitCode.badInput,
  UNSUPPORTED: ExitCode.badInput,
  CORRUPT_ARCHIVE: ExitCode.badInput,
  NOT_FOUND: ExitCode.unavailable,
  UNAVAILABLE: ExitCode.unavailable,
  AUTH: ExitCode.unavailable,
  IO: ExitCode.io,
  INTERNAL: ExitCode.internal,
};

export interface OciReproErrorOptions {
  hint?: string;
  cause?: unknown;
  data?: Record<string, unknown>;
}

/** An error with a stable code, an exit code and a one-line message: `context: cause (hint: ...)`. */
export class OciReproError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  readonly hint?: string;
  readonly data?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: OciReproErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OciReproError';
    this.code = code;
    this.exitCode = exitCodeOf[code];
    this.hint = options.hint;
    this.data = options.data;
  }

  /** The single line shown to users. */
  get line(): string {
    return this.hint ? `${this.message} (hint: ${this.hint})` : this.message;
  }
}

export const usageError = (message: string, options?: OciReproErrorOptions) =>
  new OciReproError('USAGE', message, options);
export const badInput = (message: string, options?: OciReproErrorOptions) =>
  new OciReproError('BAD_INPUT', message, options);
export const corruptArchive = (message: string, options?: OciReproErrorOptions) =>
  new OciReproError('CORRUPT_ARCHIVE', message, options);
export const digestMismatch = (message: string, options?: OciReproErrorOptions) =>
  new OciReproError('DIGEST_MISMATCH', message, options);
export const unsupported = (message: string, options?: OciReproErrorOptions) =>
  new OciReproError('UNSUPPORTED', message, options);
export const notFound = (message: string, options?: OciReproErrorOptions) =>
  new OciReproError('NOT_FOUND', message, options);
export const unavailable = (message: string, options?: OciReproErrorOptions) =>
  new OciReproError('UNAVAILABLE', message, options);
export const ioError = (message: string, options?: OciReproErrorOptions) => new OciReproError('IO', message, options);

/** errno codes that are the machine's condition (space, quota, a read-only or failing disk), never a bug. */
const environmentErrnos: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  EFBIG: 'file too large',
};
/** Refused writes: for a read these stay "unavailable" (withContext), for a write they are I/O errors. */
const refusedErrnos: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
};

/** The errno code of `error` when it is one of the environment's write failures (see writeContext). */
export function environmentErrno(error: unknown, forWrite: boolean): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (Object.hasOwn(environmentErrnos, code) || (forWrite && Object.hasOwn(refusedErrnos, code))) return code;
  return undefined;
}

/** What the environment's errno means, in words: `no space left on device`. */
export function describeEnvironmentErrno(code: string): string {
  return environmentErrnos[code] ?? refusedErrnos[code] ?? code;
}

function environmentHint(code: string): string {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return 'free some space or write to a larger disk';
    case 'EROFS':
      return 'the file system is mounted read-only; choose a writable destination';
    case 'EIO':
      return 'the disk reported an error; check it (dmesg)';
    default:
      return 'choose a destination this user may write to';
  }
}

/**
 * `context: cause` for a failed write: the environment's errors (full disk, quota, read-only, refused
 * permission) become IO (exit 74) naming the path; anything else is as withContext makes it.
 */
export function writeContext(context: string, error: unknown, hint?: string): OciReproError {
  const code = error instanceof OciReproError ? undefined : environmentErrno(error, true);
  if (code === undefined) return withContext(context, error);
  const path = (error as NodeJS.ErrnoException).path;
  const where = path !== undefined && !context.includes(path) ? ` (${path})` : '';
  return ioError(`${context}: ${describeEnvironmentErrno(code)}${where}`, { cause: error, hint: hint ?? environmentHint(code) });
}

/** Adds context in front of an OciReproError's message; wraps anything else as internal. */
export function withContext(context: string, error: unknown): OciReproError {
  if (error instanceof OciReproError) {
    if (error.message.startsWith(context)) return error;
    return new OciReproError(error.code, `${context}: ${error.message}`, {
      hint: error.hint,
      cause: error.cause ?? error,
      data: error.data,
    });
  }
  // A full or read-only disk is the machine's condition wherever it shows (EACCES stays "unavailable":
  // reading a source; writes that EACCES are mapped by writeContext).
  if (environmentErrno(error, false) !== undefined) return writeContext(context, error);
  const nodeError = error as NodeJS.ErrnoException;
  if (nodeError && (nodeError.code === 'ENOENT' || nodeError.code === 'EACCES' || nodeError.code === 'EISDIR')) {
    return new OciReproError('NOT_FOUND', `${context}: ${describeErrno(nodeError)}`, { cause: error });
  }
  if (nodeError && typeof nodeError.code === 'string' && nodeError.code.startsWith('Z_')) {
    return new OciReproError('CORRUPT_ARCHIVE', `${context}: corrupt compressed data (${nodeError.message})`, {
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new OciReproError('INTERNAL', `${context}: ${message}`, { cause: error });
}

function describeErrno(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return `no such file${error.path ? ` ${error.path}` : ''}`;
    case 'EACCES':
      return `permission denied${error.path ? ` on ${error.path}` : ''}`;
    case 'EISDIR':
      return `is a directory${error.path ? `: ${error.path}` : ''}`;
    default:
      return error.message;
  }
}

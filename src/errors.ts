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

import { Command, Flags } from '@oclif/core';
import { environmentErrno, ExitCode, OciReproError, usageError, writeContext } from '../errors.js';
import { parsePlatform, type LoadOptions } from '../sources/index.js';
import { removeTempPathsSync } from '../temp-files.js';
import { formatAnnotation, inGithubActions } from './workflow-commands.js';

/** What an error looks like in --json mode; stable for scripts. */
export interface ErrorJson {
  error: { code: string; message: string; hint?: string; exitCode: number };
}

/**
 * Every command extends this: it owns --json, renders errors as one line (or JSON) and maps
 * each error to the exit codes of docs/architecture.md (section 5) in both modes. Unknown errors are 70, never 1,
 * because 1 means "not reproducible" to a CI gate.
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    platform: Flags.string({
      description: 'platform to pick from a multi-platform index, as os/arch[/variant]',
      helpValue: 'linux/amd64',
    }),
    creds: Flags.string({
      description: 'registry credentials USER:PASSWORD [default: env OCI_REPRO_CREDS, else ~/.docker/config.json]',
      helpValue: 'USER:PASSWORD',
    }),
    'tls-verify': Flags.boolean({
      description: 'verify registry TLS certificates (--tls-verify=false or --no-tls-verify also allows plain HTTP)',
      default: true,
      allowNo: true,
    }),
    'cert-file': Flags.string({ description: 'PEM file of CA certificates to trust for registries [default: env SSL_CERT_FILE]', helpValue: 'FILE' }),
  };

  /** oclif boolean flags take no value: `--tls-verify=false` (skopeo's spelling) would make `false` the image argument. */
  protected override async init(): Promise<void> {
    installSignalCleanup();
    this.argv = spellBooleanValues(this.argv, ['tls-verify']);
    await super.init();
  }

  /** The source settings every command shares, from the base flags. */
  protected loadOptionsFrom(flags: { platform?: string; creds?: string; 'tls-verify': boolean; 'cert-file'?: string }): LoadOptions {
    return {
      ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
      ...(flags.creds !== undefined ? { creds: flags.creds } : {}),
      tlsVerify: flags['tls-verify'],
      ...(flags['cert-file'] ? { caFile: flags['cert-file'] } : {}),
    };
  }

  /** Writes to stdout unbuffered by oclif, so tests and pipes see exactly these bytes. */
  protected out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  protected outJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  protected setExitCode(code: ExitCode): void {
    process.exitCode = code;
  }

  override async catch(error: Error & { oclif?: { exit?: number }; code?: string }): Promise<void> {
    const mapped = toOciReproError(error);
    process.exitCode = mapped.exitCode;
    // A parse failure is reported here; oclif's "did not parse" warning would be a second, wrong message.
    this.parsed = true;
    if (this.jsonEnabled()) {
      const body: ErrorJson = {
        error: { code: mapped.code, message: mapped.message, exitCode: mapped.exitCode, ...(mapped.hint ? { hint: mapped.hint } : {}) },
      };
      this.outJson(body);
    } else {
      process.stderr.write(`oci-repro: error: ${mapped.line}\n`);
      // In a GitHub Actions step the error is also an annotation, shown on the run's summary page.
      if (inGithubActions(process.env)) {
        process.stderr.write(`${formatAnnotation({ level: 'error', title: `oci-repro: exit ${mapped.exitCode}`, message: mapped.line })}\n`);
      }
      if (mapped.code === 'INTERNAL' && process.env.DEBUG && error.stack) process.stderr.write(`${error.stack}\n`);
    }
  }

  // oclif would print a returned value itself; commands here print their own output.
  protected override toSuccessJson(): undefined {
    return undefined;
  }
}

/** oclif's own parse errors carry exit 2; anything that is not ours and not oclif's is a bug. */
export function toOciReproError(error: unknown): OciReproError {
  if (error instanceof OciReproError) return error;
  const oclifExit = (error as { oclif?: { exit?: number } })?.oclif?.exit;
  const message = error instanceof Error ? firstLine(error.message) : String(error);
  // Flag and argument errors from oclif's parser carry the parse input.
  if ((error as { parse?: unknown })?.parse !== undefined || oclifExit === ExitCode.usage) {
    return new OciReproError('USAGE', message, { cause: error });
  }
  // A full or read-only disk that no layer below put in context is still the environment's, not a bug.
  // (A bare EACCES could be a read or a write: left as it was.)
  if (environmentErrno(error, false) !== undefined) {
    const path = (error as NodeJS.ErrnoException).path;
    return writeContext(path ?? 'i/o error', error);
  }
  return new OciReproError('INTERNAL', `internal error: ${message}`, {
    cause: error,
    hint: 'this is a bug in oci-repro; run with DEBUG=1 for a stack trace and report it',
  });
}

/** oclif's parse messages span lines (the missing argument on the next one): fold them into one. */
function firstLine(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('See more help with'))
    .join(' ')
    .replace(/\s+/g, ' ');
}

/** The signals that end a run, by number: the exit code is 128 + it, as a shell reports a killed process. */
export const cleanupSignals = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
let signalCleanupInstalled = false;

/**
 * On SIGINT, SIGTERM or SIGHUP: remove the staging directories and temp files still registered
 * (temp-files.ts), then exit 128 + the signal number. Synchronous, because nothing after the handler
 * may run: the run's own promises never settle. Spool files need nothing here (already unlinked).
 * SIGKILL cannot be caught: a staging directory beside the destination may then remain (named
 * `DEST.tmp-*` or `.oci-repro-*`), never a spool file.
 */
export function installSignalCleanup(): void {
  if (signalCleanupInstalled) return;
  signalCleanupInstalled = true;
  for (const [signal, number] of Object.entries(cleanupSignals)) {
    process.on(signal, () => {
      const left = removeTempPathsSync();
      try {
        // A hung-up terminal (SIGHUP) has nobody to read this; a failed write must not stop the exit.
        if (signal !== 'SIGHUP') {
          const note = left.length > 0 ? `; could not remove ${left.join(', ')}` : '';
          process.stderr.write(`oci-repro: interrupted by ${signal}${note}\n`);
        }
      } catch {
        // exit anyway
      }
      process.exit(128 + number);
    });
  }
}

/** `--NAME=true|false` -> `--NAME` / `--no-NAME` for the given allowNo boolean flags; stops at `--`. */
export function spellBooleanValues(argv: string[], names: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((arg, i) => {
    if (end !== -1 && i >= end) return arg;
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match || !names.includes(match[1]!)) return arg;
    const value = match[2]!.toLowerCase();
    if (value === 'true' || value === '1') return `--${match[1]}`;
    if (value === 'false' || value === '0') return `--no-${match[1]}`;
    throw usageError(`--${match[1]} takes true or false, not ${JSON.stringify(match[2])}`);
  });
}

import type { ProgressListener } from '../image/progress.js';
import type { RegistryOptions } from '../registry/client.js';
import type { PlatformWanted } from './assemble.js';

/** How to open an image; registry and daemon settings apply only to those transports. */
export interface LoadOptions extends RegistryOptions, DaemonOptions {
  platform?: PlatformWanted;
  /** Told of the image's layer blobs and of every byte read from them (image/progress.ts); never prints. */
  onProgress?: ProgressListener;
}

/** How to reach a Docker Engine API (docker-daemon: references). */
export interface DaemonOptions {
  /** `unix:///path/to/socket`; default env DOCKER_HOST, else unix:///var/run/docker.sock. */
  dockerHost?: string;
  /** No byte from the daemon for this long fails the export (default 120 s: a daemon may build the tar first). */
  timeoutMs?: number;
  /** Where the exported tar is kept until close() (default the OS temp dir). */
  tempDir?: string;
  env?: NodeJS.ProcessEnv;
}

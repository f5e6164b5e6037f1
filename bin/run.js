#!/usr/bin/env node
// CommonJS (see bin/package.json): an ES module entry is itself read through libuv's thread pool, and
// the pool's size is fixed when it starts, so only a CommonJS entry can still choose it.
'use strict';
const { availableParallelism } = require('node:os');
const { join } = require('node:path');

// zlib compresses and decompresses layers on the pool. libuv's default of 4 threads on a 2-core machine
// cost about 10%: normalize --output of two 512 MiB layers took 36.7-37.7 s with 4 threads and
// 32.3-35.3 s with 2 (verify of two 1 GiB images 13.4-13.8 s and 12.7-13.1 s). So one thread per core,
// at least 2; and more than the default 4 on more cores, as gzip output deflates one block per pool
// thread (src/image/compression-gzip.ts): capped at 4, it could not use a fifth core. A value set by the
// user wins.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, Math.min(64, availableParallelism())));

// The package root, not this file: oclif would take bin/package.json for the package's own.
require('@oclif/core').execute({ dir: join(__dirname, '..') });

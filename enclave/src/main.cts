/**
 * Entry point of the enclave process: sizes libuv's thread pool (where native
 * Argon2id runs) to this machine's vCPUs, then starts the process proper
 * (run.ts).
 *
 * CommonJS on purpose. Node reads an ES-module entry through its asynchronous
 * loader, which starts the thread pool, at its default size of 4, before the
 * module's first line runs; an ESM entry cannot size the pool (measured: 4
 * pool threads with UV_THREADPOOL_SIZE set in an ESM entry, 2 with this one).
 * A CommonJS entry is read synchronously, so the variable is set before
 * anything can start the pool. An operator's UV_THREADPOOL_SIZE wins.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS entry (see above)
import os = require('node:os');

process.env.UV_THREADPOOL_SIZE ??= String(os.availableParallelism());
import('./run.js').catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * Entry point of the enclave process. libuv's thread pool (where native
 * Argon2id and PBKDF2 run) is sized to this machine's vCPUs before anything
 * can start it; then the process proper starts (run.ts).
 */
import { availableParallelism } from 'node:os';

process.env.UV_THREADPOOL_SIZE ??= String(availableParallelism());
await import('./run.js');

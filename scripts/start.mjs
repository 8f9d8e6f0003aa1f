#!/usr/bin/env node
// The local stack launcher (`npm start`): starts every process of the local
// stack, prints where each listens, restarts the enclave if it dies, and
// stops everything on Ctrl-C. Run after `npm run build` (npm start does both).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env };
const hostPort = env.HOST_PORT ?? '8080';
const enclavePort = env.ENCLAVE_PORT ?? '5005';
env.ENCLAVE_LISTEN ??= `tcp://127.0.0.1:${enclavePort}`;
env.ENCLAVE_ADDRESS ??= env.ENCLAVE_LISTEN;

/** @type {Map<string, import('node:child_process').ChildProcess>} */
const children = new Map();
let stopping = false;

function run(name, script, { restart }) {
  const child = spawn(process.execPath, [join(root, script)], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    console.error(`[start] ${name} exited (${signal ?? code})`);
    if (restart) {
      console.error(`[start] restarting ${name} in 1 s`);
      setTimeout(() => !stopping && run(name, script, { restart }), 1000);
    } else {
      stop(1);
    }
  });
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.error('[start] stopping');
  for (const child of children.values()) child.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(code);
  }, 5000);
  const check = setInterval(() => {
    if (children.size === 0) {
      clearInterval(check);
      clearTimeout(deadline);
      process.exit(code);
    }
  }, 50);
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

run('enclave', 'enclave/dist/main.js', { restart: true });
run('host', 'host/dist/main.js', { restart: false });

console.log(`
Enclave Wallet local stack
  host API   http://127.0.0.1:${hostPort}   (GET /healthz, GET /readyz)
  enclave    ${env.ENCLAVE_LISTEN}
Press Ctrl-C to stop.
`);

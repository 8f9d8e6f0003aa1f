/**
 * The local stack as `npm start` runs it (scripts/start.mjs: every process real, anvil and the local Solana
 * endpoint included), on free ports and a fresh data folder, for the browser tests. Stopped with SIGTERM to its
 * process group.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

export interface DemoStack {
  ports: Record<'HOST_PORT' | 'ENCLAVE_PORT' | 'LOCAL_KMS_PORT' | 'DYNAMODB_PORT' | 'DEV_ISSUER_PORT' | 'LOCAL_CHAIN_PORT' | 'LOCAL_SOLANA_PORT', number>;
  /** What the launcher and its processes wrote to stdout (their logs). */
  logs: string[];
  stop(): Promise<void>;
}

export async function startDemoStack(env: Record<string, string> = {}): Promise<DemoStack> {
  const ports = {
    HOST_PORT: await freePort(),
    ENCLAVE_PORT: await freePort(),
    LOCAL_KMS_PORT: await freePort(),
    DYNAMODB_PORT: await freePort(),
    DEV_ISSUER_PORT: await freePort(),
    LOCAL_CHAIN_PORT: await freePort(),
    LOCAL_SOLANA_PORT: await freePort(),
  };
  const launcher = spawn(process.execPath, [join(repo, 'scripts/start.mjs')], {
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !['ENCLAVE_LISTEN', 'ENCLAVE_ADDRESS', 'HOST_PUBLIC_URL'].includes(k))),
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      DATA_DIR: mkdtempSync(join(tmpdir(), 'demo-browser-')),
      SHUTDOWN_TIMEOUT_MS: '3000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const logs: string[] = [];
  launcher.stdout!.setEncoding('utf8');
  launcher.stdout!.on('data', (chunk: string) => logs.push(chunk));
  const exited = new Promise((r) => launcher.once('exit', r));
  const stop = async (): Promise<void> => {
    if (launcher.exitCode === null && launcher.pid) process.kill(-launcher.pid, 'SIGTERM');
    await exited;
  };
  let ready = false;
  for (let i = 0; i < 600 && !ready; i++) {
    ready = await fetch(`http://127.0.0.1:${ports.HOST_PORT}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready) {
    await stop();
    throw new Error('the local stack did not come up');
  }
  return { ports, logs, stop };
}

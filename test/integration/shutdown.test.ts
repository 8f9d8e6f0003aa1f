/**
 * Graceful shutdown at process level: the whole local stack (`scripts/start.mjs`,
 * every process real) gets SIGTERM on its process group while a signature is
 * in flight. The signature still arrives (200, verified), a new request during
 * the drain is refused cleanly (503 SHUTTING_DOWN, or no connection), and
 * every process exits. Needs the build (`npm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyMessage, type Address } from 'viem';
import { createClient } from '@enclave-wallet/client';
import { freePort } from '../support/ports.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('SIGTERM to the whole stack while a signature is in flight: it completes, new requests are refused, everything exits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shutdown-'));
  const ports = {
    host: await freePort(),
    enclave: await freePort(),
    kms: await freePort(),
    dynamo: await freePort(),
    issuer: await freePort(),
    frame: await freePort(),
  };
  const launcher: ChildProcess = spawn(process.execPath, [join(repo, 'scripts/start.mjs')], {
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !['ENCLAVE_LISTEN', 'ENCLAVE_ADDRESS', 'HOST_PUBLIC_URL'].includes(k))),
      DATA_DIR: dir,
      LOCAL_CHAIN: '0',
      HOST_PORT: String(ports.host),
      ENCLAVE_PORT: String(ports.enclave),
      LOCAL_KMS_PORT: String(ports.kms),
      DYNAMODB_PORT: String(ports.dynamo),
      DEV_ISSUER_PORT: String(ports.issuer),
      FRAME_PORT: String(ports.frame),
      SHUTDOWN_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true, // its own process group, which the test signals as a whole
  });
  const url = `http://127.0.0.1:${ports.host}`;
  try {
    let ready = false;
    for (let i = 0; i < 300 && !ready; i++) {
      ready = await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready).toBe(true);
    const idToken = (
      (await (
        await fetch(`http://127.0.0.1:${ports.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'shutdown@example.com' }),
        })
      ).json()) as { id_token: string }
    ).id_token;
    const client = createClient({ baseUrl: url, root: new Uint8Array(readFileSync(join(dir, 'dev-ca', 'root.der'))) });
    await client.login(idToken);
    const wallet = await client.createWallet('493817');
    const address = wallet.accounts[0]!.address as Address;
    await client.attestation(); // verified now, so the signature below goes straight to the host

    const inFlight = client.signEvmMessage(wallet.walletId, 'signed during shutdown', { pin: '493817', address });
    await new Promise((r) => setTimeout(r, 15));
    process.kill(-launcher.pid!, 'SIGTERM');
    // A new request once the host has taken the signal (on a loaded machine that can take more than a few ms):
    // asked again every 30 ms while it still answers 200, for at most 3 s.
    let late = '';
    for (let i = 0; i < 100 && (late === '' || late.startsWith('200')); i++) {
      await new Promise((r) => setTimeout(r, 30));
      late = await fetch(`${url}/v1/wallets`, { headers: { authorization: `Bearer ${client.session!.accessToken}` } }).then(
        async (r) => `${r.status} ${((await r.json()) as { error?: { code?: string } }).error?.code ?? ''}`,
        () => 'connection refused',
      );
    }
    const signature = await inFlight;
    expect(await verifyMessage({ address, message: 'signed during shutdown', signature })).toBe(true);
    expect(['503 SHUTTING_DOWN', 'connection refused']).toContain(late);
    const exitCode = await new Promise<number | null>((resolve) => {
      if (launcher.exitCode !== null) resolve(launcher.exitCode);
      else launcher.once('exit', (code) => resolve(code));
    });
    expect(exitCode).toBe(0);
    expect(
      await fetch(`${url}/healthz`).then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down');
  } finally {
    if (launcher.pid && alive(launcher.pid)) process.kill(-launcher.pid, 'SIGKILL');
  }
}, 120_000);

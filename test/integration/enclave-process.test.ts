/**
 * The real enclave process (enclave/dist/main.js, as `npm start` runs it),
 * driven over TCP by a test client with the local KMS: it serves, it can be
 * killed, and after a restart the wallets sealed by the previous process
 * still open (the KMS key and the dev CA persist; nothing lives in the process).
 * Needs the build (`npm test` builds first).
 */
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashMessage, toHex, verifyMessage } from 'viem';
import { verifyAttestationDocument } from '@enclave-wallet/client';
import { LocalKms, LOCAL_KMS_CREDENTIALS } from '@enclave-wallet/devtools';
import { RpcClient } from '@enclave-wallet/proto';
import { readDevRoot } from '../../enclave/src/platform/index.js';
import { sealEnvelope } from '../support/envelopes.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const main = join(repo, 'enclave/dist/main.js');
const dir = mkdtempSync(join(tmpdir(), 'enclave-process-'));
const caDir = join(dir, 'dev-ca');
let kmsServer: Server;
let kmsUrl: string;
let keyArn: string;

/** Starts the enclave process on a free port; resolves with its address once it logs `listening`. */
function startEnclave(): Promise<{ child: ChildProcess; address: string }> {
  if (!existsSync(main)) throw new Error('enclave/dist/main.js is missing: run `npm run build` first');
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, ENCLAVE_LISTEN: 'tcp://127.0.0.1:0', ENCLAVE_PLATFORM: 'simulated', ENCLAVE_DEV_CA_DIR: caDir, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        try {
          const entry = JSON.parse(line) as { event?: string; address?: string };
          if (entry.event === 'listening' && entry.address) resolve({ child, address: entry.address });
        } catch {
          // not a complete JSON line yet
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`enclave exited with ${code}: ${buffered}`)));
  });
}

beforeAll(async () => {
  const kms = new LocalKms({ dataDir: join(dir, 'kms'), devRoot: () => readDevRoot(caDir) });
  ({ server: kmsServer, url: kmsUrl } = await kms.listen(0));
  const admin = new KMSClient({ region: 'us-east-1', endpoint: kmsUrl, credentials: { ...LOCAL_KMS_CREDENTIALS } });
  keyArn = (await admin.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  admin.destroy();
});
afterAll(async () => {
  await new Promise((r) => kmsServer.close(r));
});

async function connect(address: string): Promise<{ rpc: RpcClient; envelopeKey: Uint8Array }> {
  const rpc = await RpcClient.connect(address);
  await rpc.call('init', { kmsRegion: 'us-east-1', kmsEndpoint: kmsUrl, kmsKeyId: keyArn, credentials: { ...LOCAL_KMS_CREDENTIALS } });
  const nonce = Uint8Array.of(1, 2, 3, 4);
  const doc = verifyAttestationDocument((await rpc.call('getAttestation', { nonce })).document!, { root: readDevRoot(caDir), expectedNonce: nonce });
  return { rpc, envelopeKey: doc.publicKey! };
}

test('a wallet sealed by one enclave process opens in the next one', async () => {
  const first = await startEnclave();
  const a = await connect(first.address);
  const created = await a.rpc.call('createWallet', { userId: 'u-1', walletId: 'w-1', pinEnvelope: sealEnvelope(a.envelopeKey, { purpose: 'create-wallet', sub: 'u-1', pin: '493817' }) });
  const address = created.accounts![0]!.address!;
  first.child.kill('SIGKILL');
  await a.rpc.whenClosed();
  await expect(a.rpc.call('health', {})).rejects.toMatchObject({ code: 'ENCLAVE_UNAVAILABLE' });

  const second = await startEnclave();
  try {
    const b = await connect(second.address);
    // A new process has a new envelope key: envelopes are sealed to the key of the document just verified.
    expect(Buffer.from(b.envelopeKey).equals(Buffer.from(a.envelopeKey))).toBe(false);
    const digest = hashMessage('after restart');
    const signed = await b.rpc.call('sign', {
      userId: 'u-1',
      walletId: 'w-1',
      sealedBlob: created.sealedBlob,
      network: 1,
      evmMessage: { text: 'after restart' },
      pinEnvelope: sealEnvelope(b.envelopeKey, { purpose: 'sign', sub: 'u-1', walletId: 'w-1', digest, pin: '493817' }),
    });
    expect(await verifyMessage({ address: address as `0x${string}`, message: 'after restart', signature: toHex(signed.signature!) })).toBe(true);
    b.rpc.close();
  } finally {
    second.child.kill('SIGTERM');
  }
}, 60_000);

#!/usr/bin/env node
// `npm run bench`: measures what a PIN-checked operation costs on this machine and
// prints a report. Not a test: numbers vary with the machine; nothing here fails on them.
//   - Argon2id at the compiled-in cost (the floor of every PIN check)
//   - enclave operations over TCP with the local KMS: create, sign (sequential and concurrent)
//   - memory of the process afterwards
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { hashMessage } from 'viem';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { LocalKms, LOCAL_KMS_CREDENTIALS, LOCAL_WALLET_KEY_POLICY, LOCAL_GUARD_TABLE, prepareLocalGuard } = await import('../devtools/dist/index.js');
const { default: dynalite } = await import('dynalite');
const { createEnclaveService, createLogger, startEnclaveServer, testStartupConfig } = await import('../enclave/dist/index.js');
const { stretchPin, ARGON2_POLICY } = await import('../enclave/dist/sealing/kdf.js');
const { RpcClient } = await import('../proto/dist/index.js');
const { hpkeSeal, wireOf, verifyAttestationDocument } = await import('../client/dist/index.js');

const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, p50: q(0.5), p95: q(0.95), max: s[s.length - 1] };
};
const row = (name, st, extra = '') => console.log(`${name.padEnd(44)} n=${String(st.n).padStart(3)}  mean ${st.mean.toFixed(1).padStart(7)} ms  p50 ${st.p50.toFixed(1).padStart(7)}  p95 ${st.p95.toFixed(1).padStart(7)}  max ${st.max.toFixed(1).padStart(7)}${extra}`);
async function time(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

console.log(`Enclave Wallet benchmark — node ${process.version}, ${process.platform}-${process.arch}\n`);
row(`Argon2id ${ARGON2_POLICY.memoryKiB} KiB t=${ARGON2_POLICY.iterations} p=${ARGON2_POLICY.parallelism}`, stats(await time(10, () => stretchPin(new TextEncoder().encode('493817'), randomBytes(16), ARGON2_POLICY))));

const dir = mkdtempSync(join(tmpdir(), 'bench-'));
const caDir = join(dir, 'dev-ca');
const kms = new LocalKms({ dataDir: join(dir, 'kms'), devRoot: () => new Uint8Array(readFileSync(join(caDir, 'root.der'))) });
const { url, server } = await kms.listen(0);
const admin = new KMSClient({ region: 'us-east-1', endpoint: url, credentials: { ...LOCAL_KMS_CREDENTIALS } });
const keyArn = (await admin.send(new CreateKeyCommand({ Policy: JSON.stringify(LOCAL_WALLET_KEY_POLICY) }))).KeyMetadata.Arn;
admin.destroy();
const dyn = dynalite({ createTableMs: 0 });
await new Promise((r) => dyn.listen(0, '127.0.0.1', r));
const dynamoUrl = `http://127.0.0.1:${dyn.address().port}`;
const guardCiphertext = Buffer.from(await prepareLocalGuard({ dynamoEndpoint: dynamoUrl, kmsEndpoint: url, keyId: keyArn, kmsCredentials: LOCAL_KMS_CREDENTIALS }), 'base64');
const service = await createEnclaveService(testStartupConfig(caDir));
const enclave = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: createLogger('error', () => {}), service });
const rpc = await RpcClient.connect(enclave.address);
await rpc.call('init', { kmsRegion: 'us-east-1', kmsEndpoint: url, kmsKeyId: keyArn, credentials: { ...LOCAL_KMS_CREDENTIALS }, guardTable: LOCAL_GUARD_TABLE, guardEndpoint: dynamoUrl, guardCredentialsCiphertext: guardCiphertext });
const key = verifyAttestationDocument((await rpc.call('getAttestation', {})).document, { root: new Uint8Array(readFileSync(join(caDir, 'root.der'))) }).publicKey;
const env = (body) => wireOf(hpkeSeal(key, new TextEncoder().encode('enclave-wallet/pin-envelope/v1'), new TextEncoder().encode(JSON.stringify({ v: 1, exp: Math.floor(Date.now() / 1000) + 120, nonce: randomBytes(16).toString('hex'), ...body }))));

row('attestation document (simulated NSM)', stats(await time(50, () => rpc.call('getAttestation', { nonce: randomBytes(32) }))));
const concurrent = 16;
const blobs = [];
row('create wallet (KMS random + data key, seal, guard)', stats(await time(concurrent, async (i) => {
  const created = await rpc.call('createWallet', { userId: 'u', walletId: `w${i}`, pinEnvelope: env({ purpose: 'create-wallet', sub: 'u', pin: '493817' }) });
  blobs.push({ blob: created.sealedBlob, address: created.accounts[0].address });
})));
const digest = hashMessage('bench');
const signOnce = async (i) => rpc.call('sign', { userId: 'u', walletId: `w${i}`, sealedBlob: blobs[i].blob, network: 1, address: blobs[i].address, evmMessage: { text: 'bench' }, pinEnvelope: env({ purpose: 'sign', sub: 'u', walletId: `w${i}`, network: 'evm', address: blobs[i].address, digest, pin: '493817' }) });
row('sign EIP-191 (guard count, KMS decrypt, unseal, sign, guard clear)', stats(await time(20, () => signOnce(0))));
const t0 = performance.now();
const lat = await Promise.all(Array.from({ length: concurrent }, async (_, i) => {
  const t = performance.now();
  await signOnce(i);
  return performance.now() - t;
}));
const wall = performance.now() - t0;
row(`sign, ${concurrent} wallets at once on one connection`, stats(lat), `  → ${(concurrent / (wall / 1000)).toFixed(1)} signatures/s`);
const mem = process.memoryUsage();
console.log(`\nmemory after: rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB, external ${(mem.external / 2 ** 20).toFixed(0)} MiB`);
rpc.close();
await enclave.close();
server.close();
dyn.close();

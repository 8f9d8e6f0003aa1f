#!/usr/bin/env node
// `npm run demo`: walks a new user through the running local stack (npm start):
// login → verify the enclave's attestation → create a wallet → sign a message
// → sign a transaction, broadcast it to the local EVM node and wait for it to
// be mined → verify everything with viem. Every step is printed.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, hashMessage, http, keccak256, serializeTransaction, verifyMessage, parseEther, formatEther } from 'viem';
import { foundry } from 'viem/chains';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { hpkeSeal, wireOf, verifyAttestationDocument } = await import('../client/dist/index.js');

const API = process.env.DEMO_API ?? `http://127.0.0.1:${process.env.HOST_PORT ?? '8080'}`;
const ISSUER = process.env.DEMO_ISSUER ?? `http://127.0.0.1:${process.env.DEV_ISSUER_PORT ?? '9090'}`;
const RPC = process.env.DEMO_RPC ?? `http://127.0.0.1:${process.env.LOCAL_CHAIN_PORT ?? '8545'}`;
const PIN = process.env.DEMO_PIN ?? '493817';
const PIN_INFO = new TextEncoder().encode('enclave-wallet/pin-envelope/v1');

let step = 0;
const say = (title, detail = '') => console.log(`\n${++step}. ${title}${detail ? `\n   ${detail}` : ''}`);
const ok = (line) => console.log(`   ✓ ${line}`);

async function call(method, path, body, token) {
  const res = await fetch(API + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${json.error?.code}: ${json.error?.message}`);
  return json;
}

async function enclaveKey() {
  const nonce = randomBytes(32);
  const att = await call('GET', `/v1/enclave/attestation?nonce=${nonce.toString('hex')}`);
  const devRoot = new Uint8Array(readFileSync(join(root, '.data/dev-ca/root.der')));
  const doc = verifyAttestationDocument(Buffer.from(att.document, 'base64'), { root: att.mode === 'nitro' ? 'aws' : devRoot, expectedNonce: nonce, policy: 'inspect' /* a demo pins no PCR0; apps must (expectedPcrs) */ });
  return { key: doc.publicKey, att, doc };
}

async function envelope(body) {
  const { key } = await enclaveKey();
  const full = { v: 1, exp: Math.floor(Date.now() / 1000) + 120, nonce: randomBytes(16).toString('hex'), ...body };
  return Buffer.from(wireOf(hpkeSeal(key, PIN_INFO, new TextEncoder().encode(JSON.stringify(full))))).toString('base64');
}

try {
  const email = process.env.DEMO_EMAIL ?? `demo-${randomBytes(3).toString('hex')}@example.com`;
  say('Log in with the dev OIDC issuer', `${ISSUER}/token for ${email}`);
  const { id_token } = await (await fetch(`${ISSUER}/token`, { method: 'POST', body: JSON.stringify({ email }) })).json();
  const session = await call('POST', '/v1/auth/login', { idToken: id_token });
  ok(`user ${session.user.id} (${session.user.provider}), access token valid ${session.expiresIn} s`);

  say('Verify the enclave’s attestation document with a fresh nonce');
  const { att, doc } = await enclaveKey();
  ok(`mode ${att.mode}, module ${doc.moduleId}, PCR0 ${att.pcrs['0'].slice(0, 24)}…`);
  ok(`chain, signature and nonce verified; envelope key ${att.publicKey}`);
  ok(`PIN stretching enforced by this image: ${att.kdf.algorithm} ${att.kdf.memoryKiB} KiB, t=${att.kdf.iterations}`);

  say('Create a wallet under a PIN (sealed to the enclave, never seen by the host)');
  const wallet = await call('POST', '/v1/wallets', { pinEnvelope: await envelope({ purpose: 'create-wallet', sub: session.user.id, pin: PIN }) }, session.accessToken);
  for (const a of wallet.accounts) ok(`${a.network.padEnd(7)} ${a.path.padEnd(18)} ${a.address}`);
  const address = wallet.accounts.find((a) => a.network === 'evm').address;

  say('Sign a message (EIP-191) and verify it with viem');
  const message = 'Hello from Enclave Wallet';
  const signed = await call('POST', `/v1/wallets/${wallet.walletId}/sign`, { network: 'evm', kind: 'message', message, pinEnvelope: await envelope({ purpose: 'sign', sub: session.user.id, walletId: wallet.walletId, network: 'evm', address, digest: hashMessage(message), pin: PIN }) }, session.accessToken);
  ok(`signature ${signed.signature.slice(0, 20)}…`);
  ok(`viem verifyMessage: ${await verifyMessage({ address, message, signature: signed.signature })}`);

  say('Fund the wallet on the local EVM node and send a transaction', RPC);
  const chain = createPublicClient({ chain: foundry, transport: http(RPC) });
  await chain.request({ method: 'anvil_setBalance', params: [address, '0xde0b6b3a7640000'] });
  ok(`balance ${formatEther(await chain.getBalance({ address }))} ETH`);
  const fees = await chain.estimateFeesPerGas();
  const tx = { type: 'eip1559', chainId: 31337, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: parseEther('0.01'), nonce: await chain.getTransactionCount({ address }), gas: 21000n, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
  const digest = keccak256(serializeTransaction(tx));
  ok(`digest the client computed itself: ${digest}`);
  const out = await call(
    'POST',
    `/v1/wallets/${wallet.walletId}/sign`,
    { network: 'evm', kind: 'transaction', chainId: 31337, transaction: { type: 'eip1559', to: tx.to, value: tx.value.toString(), nonce: String(tx.nonce), gas: '21000', maxFeePerGas: tx.maxFeePerGas.toString(), maxPriorityFeePerGas: tx.maxPriorityFeePerGas.toString() }, pinEnvelope: await envelope({ purpose: 'sign', sub: session.user.id, walletId: wallet.walletId, network: 'evm', address, digest, pin: PIN }) },
    session.accessToken,
  );
  const hash = await chain.sendRawTransaction({ serializedTransaction: out.signedTransaction });
  const receipt = await chain.waitForTransactionReceipt({ hash });
  ok(`mined in block ${receipt.blockNumber}: ${receipt.status}, hash ${hash}`);
  ok(`sender ${receipt.from} = wallet ${address.toLowerCase()}: ${receipt.from === address.toLowerCase()}`);
  console.log('\nDone.');
} catch (err) {
  console.error(`\ndemo failed: ${err.message}\nIs the local stack running (npm start in another terminal)?`);
  process.exitCode = 1;
}

#!/usr/bin/env node
// `npm run demo`: walks a new user through the running local stack (npm start):
// login → verify the enclave's attestation → create a wallet → sign a message
// → fund it on the local chains, prepare and send an EVM and a Solana transfer
// through the API, with balances before and after, and check the digests and
// the results with independent code (viem, the node). Every step is printed.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base58 } from '@scure/base';
import { createPublicClient, formatUnits, hashMessage, http, keccak256, parseEther, serializeTransaction, verifyMessage } from 'viem';
import { foundry } from 'viem/chains';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { sealPinEnvelope, verifyAttestationDocument } = await import('../client/dist/index.js');

const API = process.env.DEMO_API ?? `http://127.0.0.1:${process.env.HOST_PORT ?? '8080'}`;
const ISSUER = process.env.DEMO_ISSUER ?? `http://127.0.0.1:${process.env.DEV_ISSUER_PORT ?? '9090'}`;
const RPC = process.env.DEMO_RPC ?? `http://127.0.0.1:${process.env.LOCAL_CHAIN_PORT ?? '8545'}`;
const SOLANA_RPC = process.env.DEMO_SOLANA_RPC ?? `http://127.0.0.1:${process.env.LOCAL_SOLANA_PORT ?? '8899'}`;
const PIN = process.env.DEMO_PIN ?? '493817';

let step = 0;
const say = (title, detail = '') => console.log(`\n${++step}. ${title}${detail ? `\n   ${detail}` : ''}`);
const ok = (line) => console.log(`   ✓ ${line}`);

async function call(method, path, body, token) {
  const res = await fetch(API + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${json.error?.code}: ${json.error?.message}`);
  return json;
}

async function enclaveKey() {
  const nonce = randomBytes(32);
  const att = await call('GET', `/v1/enclave/attestation?nonce=${nonce.toString('hex')}`);
  const devRoot = new Uint8Array(readFileSync(join(resolve(root, process.env.DATA_DIR ?? '.data'), 'dev-ca', 'root.der')));
  const doc = verifyAttestationDocument(Buffer.from(att.document, 'base64'), {
    root: att.mode === 'nitro' ? 'aws' : devRoot,
    expectedNonce: nonce,
    policy: 'inspect' /* a demo pins no PCR0; apps must (expectedPcrs) */,
  });
  return { key: doc.publicKey, att, doc };
}

async function envelope(body) {
  const { key } = await enclaveKey();
  return sealPinEnvelope(key, body);
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
  const wallet = await call(
    'POST',
    '/v1/wallets',
    { pinEnvelope: await envelope({ purpose: 'create-wallet', sub: session.user.id, pin: PIN }) },
    session.accessToken,
  );
  for (const a of wallet.accounts) ok(`${a.network.padEnd(7)} ${a.path.padEnd(18)} ${a.address}`);
  const address = wallet.accounts.find((a) => a.network === 'evm').address;

  say('Sign a message (EIP-191) and verify it with viem');
  const message = 'Hello from Enclave Wallet';
  const signed = await call(
    'POST',
    `/v1/wallets/${wallet.walletId}/sign`,
    {
      network: 'evm',
      kind: 'message',
      message,
      pinEnvelope: await envelope({
        purpose: 'sign',
        sub: session.user.id,
        walletId: wallet.walletId,
        network: 'evm',
        kind: 'evm-message',
        address,
        digest: hashMessage(message),
        pin: PIN,
      }),
    },
    session.accessToken,
  );
  ok(`signature ${signed.signature.slice(0, 20)}…`);
  ok(`viem verifyMessage: ${await verifyMessage({ address, message, signature: signed.signature })}`);

  const balances = async (query) => (await call('GET', `/v1/wallets/${wallet.walletId}/balances?${query}`, undefined, session.accessToken)).balances;
  const show = (list) => list.map((b) => `${b.amount === null ? '?' : formatUnits(BigInt(b.amount), b.decimals)} ${b.symbol}`).join(', ');
  say(
    'The chains this host reaches',
    (await call('GET', '/v1/chains', undefined, session.accessToken)).chains.map((c) => `${c.name} (${c.network} ${c.chainId ?? c.cluster})`).join(', '),
  );

  say('Fund the wallet on the local EVM node, then send through the API', RPC);
  const chain = createPublicClient({ chain: foundry, transport: http(RPC) });
  ok(`balance before: ${show(await balances('network=evm&chainId=31337'))}`);
  await chain.request({ method: 'anvil_setBalance', params: [address, '0xde0b6b3a7640000'] });
  ok(`balance after funding: ${show(await balances('network=evm&chainId=31337'))}`);
  const prepared = await call(
    'POST',
    `/v1/wallets/${wallet.walletId}/transactions/prepare`,
    { network: 'evm', chainId: 31337, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: parseEther('0.01').toString() },
    session.accessToken,
  );
  const t = prepared.transaction;
  ok(`transfer of 0.01 ETH to ${t.to} prepared by the host: nonce ${t.nonce}, gas ${t.gas}, max fee ${formatUnits(BigInt(t.maxFeePerGas), 9)} gwei`);
  // The host is not trusted: the client serialises what it is about to approve and hashes it itself.
  const digest = keccak256(
    serializeTransaction({
      type: 'eip1559',
      chainId: 31337,
      to: t.to,
      value: BigInt(t.value),
      nonce: Number(t.nonce),
      gas: BigInt(t.gas),
      maxFeePerGas: BigInt(t.maxFeePerGas),
      maxPriorityFeePerGas: BigInt(t.maxPriorityFeePerGas),
      data: t.data,
    }),
  );
  if (digest !== prepared.digest) throw new Error('the host’s digest is not the transaction’s: refusing to sign');
  ok(`digest checked by the client: ${digest}`);
  const sent = await call(
    'POST',
    `/v1/wallets/${wallet.walletId}/transactions/send`,
    {
      network: 'evm',
      kind: 'transaction',
      chainId: 31337,
      transaction: t,
      pinEnvelope: await envelope({
        purpose: 'sign',
        sub: session.user.id,
        walletId: wallet.walletId,
        network: 'evm',
        kind: 'evm-transaction',
        address,
        digest,
        pin: PIN,
      }),
    },
    session.accessToken,
  );
  const receipt = await chain.waitForTransactionReceipt({ hash: sent.hash });
  ok(`mined in block ${receipt.blockNumber}: ${receipt.status}, hash ${sent.hash}`);
  ok(`sender ${receipt.from} = wallet ${address.toLowerCase()}: ${receipt.from === address.toLowerCase()}`);
  ok(`balance after sending: ${show(await balances('network=evm&chainId=31337'))} (0.01 ETH sent, and the gas)`);

  say('Fund the Solana account on the local SVM, then send SOL through the API', SOLANA_RPC);
  const solAddress = wallet.accounts.find((a) => a.network === 'solana').address;
  const rpc = async (method, params) =>
    (
      await (
        await fetch(SOLANA_RPC, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        })
      ).json()
    ).result;
  ok(`balance before: ${show(await balances('network=solana&cluster=localnet'))}`);
  await rpc('requestAirdrop', [solAddress, 2_000_000_000]);
  ok(`balance after the airdrop: ${show(await balances('network=solana&cluster=localnet'))}`);
  const solPrepared = await call(
    'POST',
    `/v1/wallets/${wallet.walletId}/transactions/prepare`,
    { network: 'solana', cluster: 'localnet', to: base58.encode(randomBytes(32)), value: '1000000000' },
    session.accessToken,
  );
  // The client checks the digest itself: SHA-256 of the message (the wire transaction after its signature slot).
  const wire = Buffer.from(solPrepared.transaction, 'base64');
  const solDigest =
    '0x' +
    createHash('sha256')
      .update(wire.subarray(1 + 64))
      .digest('hex');
  if (solDigest !== solPrepared.digest) throw new Error('the host’s digest is not the transaction’s: refusing to sign');
  ok(`transfer of 1 SOL prepared, digest checked by the client: ${solDigest}`);
  const solSent = await call(
    'POST',
    `/v1/wallets/${wallet.walletId}/transactions/send`,
    {
      network: 'solana',
      cluster: 'localnet',
      kind: 'transaction',
      transaction: solPrepared.transaction,
      pinEnvelope: await envelope({
        purpose: 'sign',
        sub: session.user.id,
        walletId: wallet.walletId,
        network: 'solana',
        kind: 'solana-transaction',
        // A Solana transaction names no chain: the envelope binds the cluster it is sent to.
        cluster: 'localnet',
        address: solAddress,
        digest: solDigest,
        pin: PIN,
      }),
    },
    session.accessToken,
  );
  const status = (await rpc('getSignatureStatuses', [[solSent.hash]])).value[0];
  ok(`executed by the SVM: ${status?.confirmationStatus}, error ${status?.err}, signature ${solSent.hash.slice(0, 20)}…`);
  ok(`balance after sending: ${show(await balances('network=solana&cluster=localnet'))}`);
  console.log('\nDone.');
} catch (err) {
  console.error(
    `\ndemo failed: ${err.message}\nIs the local stack running (npm start in another terminal)?` +
      (err.code === 'UNTRUSTED_ROOT'
        ? `\nThe demo trusts the dev root in ${join(resolve(root, process.env.DATA_DIR ?? '.data'), 'dev-ca')}: run it with the DATA_DIR npm start uses.`
        : ''),
  );
  process.exitCode = 1;
}

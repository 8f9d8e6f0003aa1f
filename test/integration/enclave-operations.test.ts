/**
 * Every enclave operation over TCP, as the host will drive it: a real enclave
 * server (simulated NSM), the real @aws-sdk/client-kms against the local KMS
 * endpoint with a key policy bound to the enclave's PCR0, envelopes sealed by
 * an independent HPKE implementation, and results checked with viem and
 * @noble/curves.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base58 } from '@scure/base';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashMessage, keccak256, recoverTransactionAddress, toHex, verifyMessage } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { verifyAttestationDocument, type SignKind } from '@enclave-wallet/client';
import { createEnclaveService, createLogger, FAILED_LINES_PER_SECOND, startEnclaveServer, type EnclaveServer } from '@enclave-wallet/enclave';
import { testStartupConfig } from '../support/startup.js';
import { EnclaveWalletError, encodeFrame, PROTOCOL_VERSION, RpcClient, v1, type RequestOf, type RpcServer } from '@enclave-wallet/proto';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { hpkeOpen } from '../support/hpke-reference.js';
import { RECOVERY_INFO, sealEnvelope, type EnvelopeBody } from '../support/envelopes.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';

const dir = mkdtempSync(join(tmpdir(), 'enclave-ops-'));
const caDir = join(dir, 'dev-ca');
let enclave: RpcServer;
let rpc: RpcClient;
let envelopeKey: Uint8Array;

const USER = 'user-alice';
const PIN = '493817';

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'OK',
    (e: unknown) => (e instanceof EnclaveWalletError ? e.code : `UNTYPED ${String(e)}`),
  );
}
const env = (body: EnvelopeBody): Uint8Array => sealEnvelope(envelopeKey, body);

let aws: LocalAws;

beforeAll(async () => {
  const startup = testStartupConfig(caDir);
  const service = await createEnclaveService(startup);
  const pcr0 = Buffer.from(service.identity().pcrs![0]!).toString('hex');
  aws = await startLocalAws(dir, caDir, { pcr0 });
  enclave = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: createLogger('error', () => {}), service });
  rpc = await RpcClient.connect(enclave.address);
  // The client's key comes from a verified attestation document (checked in detail below).
  envelopeKey = verifyAttestationDocument((await rpc.call('getAttestation', {})).document!, { root: readDevRoot(caDir) }).publicKey!;
});

afterAll(async () => {
  rpc.close();
  await enclave.close();
  await aws.close();
});

const init = (over: Partial<v1.InitRequest.$Properties> = {}): Promise<unknown> => rpc.call('init', aws.initRequest(over));

test('before init: health says so and wallet operations are refused', async () => {
  expect(await rpc.call('health', {})).toMatchObject({ initialized: false });
  expect(await codeOf(rpc.call('createWallet', { userId: USER, walletId: 'w', pinEnvelope: Uint8Array.of(1) }))).toBe('ENCLAVE_NOT_INITIALIZED');
});

test('init refuses configuration outside the compiled-in bounds, then accepts a good one once', async () => {
  expect(await codeOf(init({ kmsRegion: 'mars' }))).toBe('CONFIG_REJECTED');
  expect(await codeOf(init({ kmsEndpoint: 'http://evil.example.com' }))).toBe('CONFIG_REJECTED');
  expect(await codeOf(init({ kmsKeyId: 'not-a-key' }))).toBe('CONFIG_REJECTED');
  expect(await codeOf(init({ credentials: {} }))).toBe('CONFIG_REJECTED');
  expect(await codeOf(init())).toBe('OK');
  expect(await codeOf(init())).toBe('OK'); // a host restart repeats it
  expect(await codeOf(init({ kmsKeyId: 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000' }))).toBe('CONFIG_REJECTED');
  expect(await rpc.call('health', {})).toMatchObject({ initialized: true });
});

test('a re-init with another guard-credentials ciphertext is refused, not answered OK with the old credentials kept', async () => {
  const other = Uint8Array.from(aws.initRequest().guardCredentialsCiphertext!);
  other[other.length - 1]! ^= 1;
  expect(await codeOf(init({ guardCredentialsCiphertext: other }))).toBe('CONFIG_REJECTED');
  expect(await codeOf(init())).toBe('OK'); // the same ciphertext again still is a host restart
});

test('two inits at once with different configurations: one applies, the other is refused, never both "OK"', async () => {
  const fresh = await startEnclaveServer({
    listen: 'tcp://127.0.0.1:0',
    logger: createLogger('error', () => {}),
    service: await createEnclaveService(testStartupConfig(caDir)),
  });
  const client = await RpcClient.connect(fresh.address);
  try {
    const codes = await Promise.all([
      codeOf(client.call('init', aws.initRequest())),
      codeOf(client.call('init', aws.initRequest({ guardTable: 'another-guard-table' }))),
    ]);
    expect(codes.sort()).toEqual(['CONFIG_REJECTED', 'OK']);
  } finally {
    client.close();
    await fresh.close();
  }
});

/** An enclave server over TCP whose log lines (JSON text) are kept in `lines`. */
async function loggingServer(level: 'info' | 'debug'): Promise<{ server: EnclaveServer; lines: string[] }> {
  const lines: string[] = [];
  const server = await startEnclaveServer({
    listen: 'tcp://127.0.0.1:0',
    logger: createLogger(level, (l) => lines.push(l)),
    service: await createEnclaveService(testStartupConfig(caDir)),
  });
  return { server, lines };
}

test('request lines: at info a request that failed (warn, its code, the host’s request id) and init; at debug every one', async () => {
  const linesAt = async (level: 'info' | 'debug'): Promise<Array<Record<string, unknown>>> => {
    const { server, lines } = await loggingServer(level);
    const client = await RpcClient.connect(server.address);
    try {
      await client.call('init', aws.initRequest(), { traceId: 'req-init' });
      await client.call('health', {}, { traceId: 'req-ok' });
      expect(await codeOf(client.call('createWallet', { userId: USER, walletId: 'w', pinEnvelope: Uint8Array.of(1) }, { traceId: 'req-failed' }))).toBe(
        'ENVELOPE_INVALID',
      );
    } finally {
      client.close();
      await server.close();
    }
    return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'request');
  };
  const init = expect.objectContaining({ level: 'info', requestId: 'req-init', operation: 'init' });
  const failed = expect.objectContaining({ level: 'warn', requestId: 'req-failed', operation: 'createWallet', code: 'ENVELOPE_INVALID' });
  expect(await linesAt('info')).toEqual([init, failed]);
  expect(await linesAt('debug')).toEqual([init, expect.objectContaining({ level: 'debug', requestId: 'req-ok', operation: 'health' }), failed]);
});

test('requests that fail fast, sent without end, are logged at most FAILED_LINES_PER_SECOND a second; the rest counted when the enclave stops', async () => {
  const { server, lines } = await loggingServer('info');
  const client = await RpcClient.connect(server.address);
  const sent = FAILED_LINES_PER_SECOND * 3 + 50; // more than the cap lets through in the 2 s a slow machine may take
  const started = performance.now();
  try {
    await client.call('init', aws.initRequest());
    const codes = await Promise.all(
      Array.from({ length: sent }, (_, i) =>
        codeOf(client.call('createWallet', { userId: USER, walletId: 'w', pinEnvelope: Uint8Array.of(1) }, { traceId: `f${i}` })),
      ),
    );
    expect(new Set(codes)).toEqual(new Set(['ENVELOPE_INVALID']));
  } finally {
    client.close();
    await server.close();
  }
  const events = lines.map((l) => JSON.parse(l) as { event: string; level: string; count?: number });
  const failed = events.filter((e) => e.event === 'request' && e.level === 'warn');
  const suppressed = events.filter((e) => e.event === 'request_suppressed');
  const elapsed = performance.now() - started;
  if (elapsed < 1000) {
    // All in one second (as a test machine sends them): exactly the cap written, the rest in one count.
    expect(failed).toHaveLength(FAILED_LINES_PER_SECOND);
    expect(suppressed).toEqual([expect.objectContaining({ level: 'warn', count: sent - FAILED_LINES_PER_SECOND })]);
  }
  // However slow the machine: at most the cap in each second the requests took, every one of them written or counted.
  expect(failed.length).toBeLessThanOrEqual(FAILED_LINES_PER_SECOND * (Math.ceil(elapsed / 1000) + 1));
  expect(failed.length + suppressed.reduce((a, e) => a + e.count!, 0)).toBe(sent);
});

test('a request refused before any handler (another protocol version, undecodable) is logged at warn by its code, nothing of its content', async () => {
  const { server, lines } = await loggingServer('info');
  const { hostname, port } = new URL(server.address.replace(/^tcp:/, 'http:'));
  const socket = connect(Number(port), hostname);
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.resume();
    socket.write(encodeFrame(v1.HostRequest.encode({ requestId: 5, protocolVersion: PROTOCOL_VERSION + 98, health: {}, traceId: 'req-old' }).finish()));
    socket.write(encodeFrame(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff)));
    await closed; // an undecodable frame closes the connection
  } finally {
    socket.destroy();
    await server.close();
  }
  const refused = lines.filter((l) => l.includes('"request_refused"'));
  expect(refused.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
    expect.objectContaining({ level: 'warn', event: 'request_refused', code: 'PROTOCOL_VERSION_UNSUPPORTED', operation: 'health', requestId: 'req-old' }),
    expect.objectContaining({ level: 'warn', event: 'request_refused', code: 'MALFORMED_REQUEST' }),
  ]);
  // Its code and, where the request decoded, what it named of itself: no other field.
  expect(refused.map((l) => Object.keys(JSON.parse(l) as object).sort())).toEqual([
    ['code', 'component', 'event', 'level', 'operation', 'requestId', 'time'],
    ['code', 'component', 'event', 'level', 'time'],
  ]);
});

test('attestation: a document with the envelope key and the nonce, verifiable against the dev root', async () => {
  const nonce = Uint8Array.from(sha256(new TextEncoder().encode('fresh')));
  const answer = await rpc.call('getAttestation', { nonce });
  const doc = verifyAttestationDocument(answer.document!, { root: readDevRoot(caDir), expectedNonce: nonce });
  expect(Buffer.from(doc.publicKey!).equals(Buffer.from(envelopeKey))).toBe(true);
  expect(Buffer.from(envelopeKey).equals(Buffer.from(answer.identity!.envelopePublicKey!))).toBe(true);
  expect(Buffer.from(doc.pcrs.get(0)!).equals(Buffer.from(answer.identity!.pcrs![0]!))).toBe(true);
  expect(answer.identity!.kdf).toMatchObject({ algorithm: 'argon2id', memoryKib: 19456, iterations: 2, parallelism: 1 });
  expect(await codeOf(rpc.call('getAttestation', { nonce: new Uint8Array(65) }))).toBe('NONCE_INVALID');
});

describe('a wallet’s life', () => {
  let blob: Uint8Array;
  let evmAddress: string;
  let solanaAddress: string;
  const WALLET = 'wallet-1';
  beforeAll(async () => {
    await init();
  });

  test('create: trivial PINs refused; accounts for EVM, Solana and Bitcoin', async () => {
    expect(
      await codeOf(rpc.call('createWallet', { userId: USER, walletId: WALLET, pinEnvelope: env({ purpose: 'create-wallet', sub: USER, pin: '123456' }) })),
    ).toBe('PIN_TOO_WEAK');
    expect(
      await codeOf(rpc.call('createWallet', { userId: USER, walletId: WALLET, pinEnvelope: env({ purpose: 'create-wallet', sub: 'mallory', pin: PIN }) })),
    ).toBe('ENVELOPE_MISMATCH');
    const created = await rpc.call('createWallet', { userId: USER, walletId: WALLET, pinEnvelope: env({ purpose: 'create-wallet', sub: USER, pin: PIN }) });
    blob = created.sealedBlob!;
    expect(created.accounts!.map((a) => [a.network, a.path])).toEqual([
      [v1.Network.NETWORK_EVM, "m/44'/60'/0'/0/0"],
      [v1.Network.NETWORK_SOLANA, "m/44'/501'/0'/0'"],
      [v1.Network.NETWORK_BITCOIN, "m/84'/0'/0'/0/0"],
    ]);
    evmAddress = created.accounts![0]!.address!;
    solanaAddress = created.accounts![1]!.address!;
    expect(evmAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(created.accounts![2]!.address).toMatch(/^bc1q/);
  });

  /** Signs `payload` with the wallet's EVM account 0, the envelope bound to `digest` (as the client computed it). */
  const signEvm = (payload: Pick<RequestOf<'sign'>, 'evmMessage' | 'evmTransaction'>, digest: string) =>
    rpc.call('sign', {
      userId: USER,
      walletId: WALLET,
      sealedBlob: blob,
      network: v1.Network.NETWORK_EVM,
      address: evmAddress,
      ...payload,
      pinEnvelope: env({
        purpose: 'sign',
        sub: USER,
        walletId: WALLET,
        network: 'evm',
        kind: payload.evmTransaction ? 'evm-transaction' : 'evm-message',
        address: evmAddress,
        digest,
        pin: PIN,
      }),
    });

  test('sign an EIP-191 message; viem verifies it; nothing is re-sealed', async () => {
    const digest = hashMessage('hello enclave');
    const out = await signEvm({ evmMessage: { text: 'hello enclave' } }, digest);
    expect(await verifyMessage({ address: evmAddress as `0x${string}`, message: 'hello enclave', signature: toHex(out.signature!) })).toBe(true);
    expect(toHex(out.digest!)).toBe(digest);
    // The stored blob stays as it is: a signature costs one PIN stretch, no re-seal.
    expect(out.sealedBlob ?? new Uint8Array(0)).toHaveLength(0);
  });

  test('sign an EIP-1559 transaction; viem recovers the wallet’s address', async () => {
    const tx = {
      type: v1.EvmTransactionType.EVM_TRANSACTION_TYPE_EIP1559,
      chainId: 31337,
      to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      value: '1000',
      nonce: '0',
      gas: '21000',
      maxFeePerGas: '2000000000',
      maxPriorityFeePerGas: '1000000000',
    };
    // The client computes the digest itself from the unsigned transaction (here with viem).
    const { serializeTransaction } = await import('viem');
    const digest = keccak256(
      serializeTransaction({
        type: 'eip1559',
        chainId: 31337,
        to: tx.to as `0x${string}`,
        value: 1000n,
        nonce: 0,
        gas: 21000n,
        maxFeePerGas: 2000000000n,
        maxPriorityFeePerGas: 1000000000n,
      }),
    );
    const out = await signEvm({ evmTransaction: tx }, digest);
    expect(await recoverTransactionAddress({ serializedTransaction: toHex(out.signedTransaction!) as never })).toBe(evmAddress);
    expect(toHex(out.hash!)).toBe(keccak256(toHex(out.signedTransaction!)));
  });

  test('an envelope bound to another digest, an expired one and a replayed one are refused', async () => {
    const req = { userId: USER, walletId: WALLET, sealedBlob: blob, network: v1.Network.NETWORK_EVM, address: evmAddress, evmMessage: { text: 'x' } };
    expect(
      await codeOf(
        rpc.call('sign', {
          ...req,
          pinEnvelope: env({
            purpose: 'sign',
            sub: USER,
            walletId: WALLET,
            network: 'evm',
            kind: 'evm-message',
            address: evmAddress,
            digest: hashMessage('y'),
            pin: PIN,
          }),
        }),
      ),
    ).toBe('ENVELOPE_MISMATCH');
    expect(
      await codeOf(
        rpc.call('sign', {
          ...req,
          pinEnvelope: env({
            purpose: 'sign',
            sub: USER,
            walletId: WALLET,
            network: 'evm',
            kind: 'evm-message',
            address: evmAddress,
            digest: hashMessage('x'),
            pin: PIN,
            exp: Math.floor(Date.now() / 1000) - 5,
          }),
        }),
      ),
    ).toBe('ENVELOPE_EXPIRED');
    const once = env({
      purpose: 'sign',
      sub: USER,
      walletId: WALLET,
      network: 'evm',
      kind: 'evm-message',
      address: evmAddress,
      digest: hashMessage('x'),
      pin: PIN,
    });
    await rpc.call('sign', { ...req, pinEnvelope: once });
    expect(await codeOf(rpc.call('sign', { ...req, sealedBlob: blob, pinEnvelope: once }))).toBe('ENVELOPE_REPLAYED');
  });

  test('the blob opens only for its wallet and owner', async () => {
    expect(
      await codeOf(
        rpc.call('sign', {
          userId: 'bob',
          walletId: WALLET,
          sealedBlob: blob,
          network: v1.Network.NETWORK_EVM,
          address: evmAddress,
          evmMessage: { text: 'x' },
          pinEnvelope: env({
            purpose: 'sign',
            sub: 'bob',
            walletId: WALLET,
            network: 'evm',
            kind: 'evm-message',
            address: evmAddress,
            digest: hashMessage('x'),
            pin: PIN,
          }),
        }),
      ),
    ).toBe('BLOB_MISMATCH');
    expect(
      await codeOf(
        rpc.call('sign', {
          userId: USER,
          walletId: 'other',
          sealedBlob: blob,
          network: v1.Network.NETWORK_EVM,
          address: evmAddress,
          evmMessage: { text: 'x' },
          pinEnvelope: env({
            purpose: 'sign',
            sub: USER,
            walletId: 'other',
            network: 'evm',
            kind: 'evm-message',
            address: evmAddress,
            digest: hashMessage('x'),
            pin: PIN,
          }),
        }),
      ),
    ).toBe('BLOB_MISMATCH');
  });

  test('sign a Solana message; ed25519 verifies it against the Solana address', async () => {
    const message = new TextEncoder().encode('Sign in to Example');
    const out = await rpc.call('sign', {
      userId: USER,
      walletId: WALLET,
      sealedBlob: blob,
      network: v1.Network.NETWORK_SOLANA,
      address: solanaAddress,
      solanaMessage: { message },
      pinEnvelope: env({
        purpose: 'sign',
        sub: USER,
        walletId: WALLET,
        network: 'solana',
        kind: 'solana-message',
        address: solanaAddress,
        digest: toHex(sha256(message)),
        pin: PIN,
      }),
    });
    expect(ed25519.verify(out.signature!, message, base58.decode(solanaAddress))).toBe(true);
  });

  test('export: the phrase decrypts with the client’s key and derives the same accounts; derive-account agrees', async () => {
    const clientKey = x25519.utils.randomSecretKey();
    const recipientPublicKey = x25519.getPublicKey(clientKey);
    expect(
      await codeOf(
        rpc.call('export', {
          userId: USER,
          walletId: WALLET,
          sealedBlob: blob,
          recipientPublicKey,
          pinEnvelope: env({
            purpose: 'export',
            sub: USER,
            walletId: WALLET,
            digest: toHex(sha256(x25519.getPublicKey(x25519.utils.randomSecretKey()))),
            pin: PIN,
          }),
        }),
      ),
    ).toBe('ENVELOPE_MISMATCH');
    const out = await rpc.call('export', {
      userId: USER,
      walletId: WALLET,
      sealedBlob: blob,
      recipientPublicKey,
      pinEnvelope: env({ purpose: 'export', sub: USER, walletId: WALLET, digest: toHex(sha256(recipientPublicKey)), pin: PIN }),
    });
    const { mnemonic } = JSON.parse(new TextDecoder().decode(hpkeOpen(clientKey, out.encryptedRecoveryPhrase!, RECOVERY_INFO))) as { mnemonic: string };
    expect(mnemonic.split(' ')).toHaveLength(24);
    expect(mnemonicToAccount(mnemonic).address).toBe(evmAddress);
    const derived = await rpc.call('deriveAccount', {
      userId: USER,
      walletId: WALLET,
      sealedBlob: blob,
      network: v1.Network.NETWORK_EVM,
      index: 1,
      pinEnvelope: env({ purpose: 'derive-account', sub: USER, walletId: WALLET, pin: PIN }),
    });
    expect(derived.account).toMatchObject({ index: 1, path: "m/44'/60'/0'/0/1", address: mnemonicToAccount(mnemonic, { addressIndex: 1 }).address });
  });

  test('change PIN: the old PIN stops working, the new one works', async () => {
    expect(
      await codeOf(
        rpc.call('changePin', {
          userId: USER,
          walletId: WALLET,
          sealedBlob: blob,
          pinEnvelope: env({ purpose: 'change-pin', sub: USER, walletId: WALLET, pin: PIN, newPin: '111111' }),
        }),
      ),
    ).toBe('PIN_TOO_WEAK');
    const changed = await rpc.call('changePin', {
      userId: USER,
      walletId: WALLET,
      sealedBlob: blob,
      pinEnvelope: env({ purpose: 'change-pin', sub: USER, walletId: WALLET, pin: PIN, newPin: '270394' }),
    });
    const oldBlob = blob;
    blob = changed.sealedBlob!;
    const req = { userId: USER, walletId: WALLET, network: v1.Network.NETWORK_EVM, address: evmAddress, evmMessage: { text: 'x' } };
    /** Signs 'x' with the old PIN, the host presenting `sealedBlob`; answers the refusal. */
    const withOldPin = async (sealedBlob: Uint8Array) =>
      (await rpc
        .call('sign', {
          ...req,
          sealedBlob,
          pinEnvelope: env({
            purpose: 'sign',
            sub: USER,
            walletId: WALLET,
            network: 'evm',
            kind: 'evm-message',
            address: evmAddress,
            digest: hashMessage('x'),
            pin: PIN,
          }),
        })
        .catch((e: unknown) => e)) as EnclaveWalletError;
    const wrong = await withOldPin(blob);
    expect(wrong.code).toBe('PIN_INVALID');
    expect(wrong.details.attemptsLeft).toBe(4);
    // The blob sealed under the old PIN, sent again by the host, is not what opens: the guard's current blob is.
    const rolledBack = await withOldPin(oldBlob);
    expect(rolledBack.code).toBe('PIN_INVALID');
    expect(rolledBack.details.attemptsLeft).toBe(3);
    const ok = await rpc.call('sign', {
      ...req,
      sealedBlob: oldBlob,
      pinEnvelope: env({
        purpose: 'sign',
        sub: USER,
        walletId: WALLET,
        network: 'evm',
        kind: 'evm-message',
        address: evmAddress,
        digest: hashMessage('x'),
        pin: '270394',
      }),
    });
    // …and the answer hands the host the current blob to store in place of the old one.
    expect(Buffer.from(ok.sealedBlob!).equals(Buffer.from(blob))).toBe(true);
    expect(await verifyMessage({ address: evmAddress as `0x${string}`, message: 'x', signature: toHex(ok.signature!) })).toBe(true);
  });

  test('five wrong PINs lock the wallet with a retry time', async () => {
    const req = { userId: USER, walletId: WALLET, network: v1.Network.NETWORK_EVM, address: evmAddress, evmMessage: { text: 'x' } };
    let last: EnclaveWalletError | undefined;
    for (let i = 0; i < 5; i++) {
      last = (await rpc
        .call('sign', {
          ...req,
          sealedBlob: blob,
          pinEnvelope: env({
            purpose: 'sign',
            sub: USER,
            walletId: WALLET,
            network: 'evm',
            kind: 'evm-message',
            address: evmAddress,
            digest: hashMessage('x'),
            pin: '000000',
          }),
        })
        .catch((e: unknown) => e)) as EnclaveWalletError;
    }
    expect(last!.code).toBe('PIN_LOCKED');
    expect(last!.details.retryAfter).toBe(60);
    expect(
      await codeOf(
        rpc.call('sign', {
          ...req,
          sealedBlob: blob,
          pinEnvelope: env({
            purpose: 'sign',
            sub: USER,
            walletId: WALLET,
            network: 'evm',
            kind: 'evm-message',
            address: evmAddress,
            digest: hashMessage('x'),
            pin: '270394',
          }),
        }),
      ),
    ).toBe('PIN_LOCKED');
  });
});

test('import: the abandon…about phrase gives the addresses MetaMask and Phantom show', async () => {
  await init();
  const mnemonic = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
  expect(
    await codeOf(
      rpc.call('import', {
        userId: USER,
        walletId: 'w-imp',
        recoveryEnvelope: env({ purpose: 'import', sub: USER, pin: PIN, mnemonic: 'abandon abandon abandon' }),
      }),
    ),
  ).toBe('MNEMONIC_INVALID');
  const out = await rpc.call('import', {
    userId: USER,
    walletId: 'w-imp',
    recoveryEnvelope: env({ purpose: 'import', sub: USER, pin: PIN, mnemonic: `  ${mnemonic.toUpperCase()} ` }),
  });
  expect(out.accounts!.map((a) => a.address)).toEqual([
    '0x9858EfFD232B4033E47d90003D41EC34EcaEda94',
    'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk',
    'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
  ]);
});

test('a payload that does not fit the network, or does not parse, is refused before the wallet is opened', async () => {
  await init();
  const ADDR = '0x' + '11'.repeat(20);
  const e = (network: string, kind: SignKind = 'evm-message') =>
    env({ purpose: 'sign', sub: USER, walletId: 'w', network, kind, address: ADDR, digest: '0x' + '00'.repeat(32), pin: PIN });
  const base = { userId: USER, walletId: 'w', sealedBlob: Uint8Array.of(1), address: ADDR };
  expect(await codeOf(rpc.call('sign', { ...base, network: v1.Network.NETWORK_SOLANA, evmMessage: { text: 'x' }, pinEnvelope: e('solana') }))).toBe(
    'VALIDATION_FAILED',
  );
  expect(await codeOf(rpc.call('sign', { ...base, network: v1.Network.NETWORK_BITCOIN, evmMessage: { text: 'x' }, pinEnvelope: e('bitcoin') }))).toBe(
    'VALIDATION_FAILED',
  );
  expect(
    await codeOf(
      rpc.call('sign', {
        ...base,
        network: v1.Network.NETWORK_EVM,
        evmTransaction: { type: 1, chainId: 1, nonce: 'x' },
        pinEnvelope: e('evm', 'evm-transaction'),
      }),
    ),
  ).toBe('TRANSACTION_INVALID');
  // The host must name the account the envelope is bound to.
  expect(await codeOf(rpc.call('sign', { ...base, address: '', network: v1.Network.NETWORK_EVM, evmMessage: { text: 'x' }, pinEnvelope: e('evm') }))).toBe(
    'VALIDATION_FAILED',
  );
});

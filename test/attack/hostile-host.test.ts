/**
 * Attack: a hostile host drives the enclave over its transport, with the
 * guard on dynalite and the local KMS. Every attempt fails closed with a
 * typed error, nothing stored is lost, and the enclave keeps serving.
 *   - swap blobs between users and wallets
 *   - claim a victim's wallet id with a wallet of its own (create/import)
 *   - replay envelopes, re-bind them to another wallet, user or purpose
 *   - have a Solana transfer signed as a "message", or swap an envelope's kind of payload
 *   - hand over guard credentials that are not the operator's
 *   - malformed, oversize, truncated and slow frames
 */
import { connect, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base58 } from '@scure/base';
import { decompileTransactionMessage, getCompiledTransactionMessageDecoder, getTransactionDecoder } from '@solana/kit';
import { identifySystemInstruction, parseTransferSolInstruction, SystemInstruction } from '@solana-program/system';
import { hashMessage, toHex, verifyMessage } from 'viem';
import { verifyAttestationDocument, type SignKind } from '@enclave-wallet/client';
import { LOCAL_KMS_CREDENTIALS } from '@enclave-wallet/devtools';
import { createEnclaveService, createLogger, startEnclaveServer } from '@enclave-wallet/enclave';
import { testStartupConfig } from '../support/startup.js';
import { EnclaveWalletError, parseAddress, RpcClient, v1, type RpcServer } from '@enclave-wallet/proto';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { sealEnvelope, type EnvelopeBody } from '../support/envelopes.js';
import { startLocalAws, type LocalAws } from '../support/local-aws.js';
import { ATTACKER, fiveSolToAttacker, v0WithLookup, wireOf } from '../support/solana-messages.js';

const dir = mkdtempSync(join(tmpdir(), 'hostile-host-'));
const caDir = join(dir, 'dev-ca');
let aws: LocalAws;
let enclave: RpcServer;
let rpc: RpcClient;
let key: Uint8Array;
const env = (body: EnvelopeBody): Uint8Array => sealEnvelope(key, body);
const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof EnclaveWalletError ? e.code : `UNTYPED ${String(e)}`),
  );

const wallets: Record<string, { user: string; blob: Uint8Array; address: string; solana: string }> = {};

beforeAll(async () => {
  const service = await createEnclaveService(testStartupConfig(caDir));
  aws = await startLocalAws(dir, caDir);
  enclave = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: createLogger('error', () => {}), service });
  rpc = await RpcClient.connect(enclave.address);
  await rpc.call('init', aws.initRequest());
  key = verifyAttestationDocument((await rpc.call('getAttestation', {})).document!, { root: readDevRoot(caDir) }).publicKey!;
  for (const [walletId, user] of [
    ['w-alice', 'alice'],
    ['w-bob', 'bob'],
  ] as const) {
    const out = await rpc.call('createWallet', { userId: user, walletId, pinEnvelope: env({ purpose: 'create-wallet', sub: user, pin: '493817' }) });
    wallets[walletId] = { user, blob: out.sealedBlob!, address: out.accounts![0]!.address!, solana: out.accounts![1]!.address! };
  }
});
afterAll(async () => {
  rpc.close();
  await enclave.close();
  await aws.close();
});

const addressOf = (walletId: string): string => wallets[walletId]?.address ?? '0x0000000000000000000000000000000000000000';
const sign = (walletId: string, user: string, blob: Uint8Array, pin = '493817', text = 'x', envelope?: Uint8Array) =>
  rpc.call('sign', {
    userId: user,
    walletId,
    sealedBlob: blob,
    network: v1.Network.NETWORK_EVM,
    address: addressOf(walletId),
    evmMessage: { text },
    pinEnvelope:
      envelope ??
      env({ purpose: 'sign', sub: user, walletId, network: 'evm', kind: 'evm-message', address: addressOf(walletId), digest: hashMessage(text), pin }),
  });

async function stillServes(): Promise<void> {
  const out = await sign('w-alice', 'alice', wallets['w-alice']!.blob, '493817', 'still here');
  expect(await verifyMessage({ address: wallets['w-alice']!.address as `0x${string}`, message: 'still here', signature: toHex(out.signature!) })).toBe(true);
}

describe('blobs', () => {
  test('Bob’s blob for Alice’s wallet, Alice’s blob for Bob’s wallet, either under the other user: BLOB_MISMATCH', async () => {
    expect(await codeOf(sign('w-alice', 'alice', wallets['w-bob']!.blob))).toBe('BLOB_MISMATCH');
    expect(await codeOf(sign('w-bob', 'bob', wallets['w-alice']!.blob))).toBe('BLOB_MISMATCH');
    expect(await codeOf(sign('w-alice', 'bob', wallets['w-alice']!.blob))).toBe('BLOB_MISMATCH');
    await stillServes();
  });

  test('claiming the victim’s wallet id with a wallet the host controls is refused; the victim’s wallet is untouched', async () => {
    // The host builds an envelope for a PIN it knows (HPKE base mode needs no secret) and asks for the victim's id.
    expect(
      await codeOf(
        rpc.call('createWallet', { userId: 'alice', walletId: 'w-alice', pinEnvelope: env({ purpose: 'create-wallet', sub: 'alice', pin: '111222' }) }),
      ),
    ).toBe('WALLET_EXISTS');
    expect(
      await codeOf(
        rpc.call('import', {
          userId: 'alice',
          walletId: 'w-alice',
          recoveryEnvelope: env({ purpose: 'import', sub: 'alice', pin: '111222', mnemonic: 'test test test test test test test test test test test junk' }),
        }),
      ),
    ).toBe('WALLET_EXISTS');
    // Its own PIN opens nothing; the victim's does.
    expect(await codeOf(sign('w-alice', 'alice', wallets['w-alice']!.blob, '111222'))).toBe('PIN_INVALID');
    await stillServes();
  });
});

describe('accounts and guesses', () => {
  test('a signature approved for account 0 is not made by account 7', async () => {
    const w = wallets['w-alice']!;
    const approved = () =>
      env({
        purpose: 'sign',
        sub: 'alice',
        walletId: 'w-alice',
        network: 'evm',
        kind: 'evm-message',
        address: w.address,
        digest: hashMessage('pay'),
        pin: '493817',
      });
    // The host names account 7's index with account 0's address: the enclave derives index 7 and refuses.
    const base = { userId: 'alice', walletId: 'w-alice', sealedBlob: w.blob, network: v1.Network.NETWORK_EVM, evmMessage: { text: 'pay' } };
    expect(await codeOf(rpc.call('sign', { ...base, address: w.address, accountIndex: 7, pinEnvelope: approved() }))).toBe('ACCOUNT_NOT_FOUND');
    // The host names another address: the envelope is bound to account 0's.
    expect(await codeOf(rpc.call('sign', { ...base, address: '0x' + '77'.repeat(20), accountIndex: 7, pinEnvelope: approved() }))).toBe('ENVELOPE_MISMATCH');
    // Or none at all.
    expect(await codeOf(rpc.call('sign', { ...base, address: '', pinEnvelope: approved() }))).toBe('VALIDATION_FAILED');
    await stillServes();
  });

  test('the lock-out bypass (4 wrong guesses on the victim, 1 good open of a blob the host minted) gets no extra guess', async () => {
    // Simulated mode lets the host name a guard table: it mints a blob for the victim's wallet id in a table of its own.
    const service = await createEnclaveService(testStartupConfig(caDir));
    const rogue = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: createLogger('error', () => {}), service });
    const r = await RpcClient.connect(rogue.address);
    const { ensureGuardTable } = await import('@enclave-wallet/devtools');
    await ensureGuardTable(aws.dynamo, 'attacker-guard');
    await r.call('init', aws.initRequest({ guardTable: 'attacker-guard' }));
    const rogueKey = verifyAttestationDocument((await r.call('getAttestation', {})).document!, { root: readDevRoot(caDir) }).publicKey!;
    const minted = await r.call('createWallet', {
      userId: 'carol',
      walletId: 'w-carol',
      pinEnvelope: sealEnvelope(rogueKey, { purpose: 'create-wallet', sub: 'carol', pin: '111222' }),
    });
    r.close();
    await rogue.close();
    const victim = await rpc.call('createWallet', {
      userId: 'carol',
      walletId: 'w-carol',
      pinEnvelope: env({ purpose: 'create-wallet', sub: 'carol', pin: '493817' }),
    });
    const address = victim.accounts![0]!.address!;
    const guess = (blob: Uint8Array, pin: string) =>
      codeOf(
        rpc.call('sign', {
          userId: 'carol',
          walletId: 'w-carol',
          sealedBlob: blob,
          network: v1.Network.NETWORK_EVM,
          address,
          evmMessage: { text: 'g' },
          pinEnvelope: env({ purpose: 'sign', sub: 'carol', walletId: 'w-carol', network: 'evm', kind: 'evm-message', address, digest: hashMessage('g'), pin }),
        }),
      );
    const seen: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) seen.push(await guess(victim.sealedBlob!, `90000${round}${i}`));
      seen.push(await guess(minted.sealedBlob!, '111222'));
    }
    // The minted blob never opens (another data key), so nothing resets the count: the fifth wrong guess locks.
    expect(seen.slice(0, 5)).toEqual(['PIN_INVALID', 'PIN_INVALID', 'PIN_INVALID', 'PIN_INVALID', 'BLOB_MISMATCH']);
    expect(seen.slice(5, 6)).toEqual(['PIN_LOCKED']);
    expect(seen.filter((c) => c === 'PIN_INVALID')).toHaveLength(4);
    expect(await guess(victim.sealedBlob!, '493817')).toBe('PIN_LOCKED');
  }, 60_000);

  test('a megabyte of EIP-712 does not stall the enclave: a wrong envelope is refused before parsing, and the caps hold', async () => {
    const w = wallets['w-alice']!;
    const wide = {
      types: { EIP712Domain: [{ name: 'name', type: 'string' }], M: [{ name: 'a', type: 'uint256[]' }] },
      primaryType: 'M',
      domain: { name: 'x' },
      message: { a: Array.from({ length: 120_000 }, (_, i) => i) },
    };
    const json = JSON.stringify(wide);
    expect(json.length).toBeGreaterThan(700_000);
    // Nothing here may reach the PIN stretch or the guard: every refusal comes before the costly work.
    const costly = async (): Promise<number> => {
      const stats = await rpc.call('health', {});
      return (stats.stats?.phases ?? []).filter((p) => p.name === 'stretch' || p.name === 'guard_count').reduce((n, p) => n + Number(p.count ?? 0), 0);
    };
    const before = await costly();
    expect(before).toBeGreaterThan(0); // the wallets of this file were sealed through the same counters
    /** Alice's wallet asked to sign `typed`, under `envelope` (default: a right one, for her, this wallet and account). */
    const right = () =>
      env({
        purpose: 'sign',
        sub: 'alice',
        walletId: 'w-alice',
        network: 'evm',
        kind: 'evm-typed-data',
        address: w.address,
        digest: '0x' + '00'.repeat(32),
        pin: '493817',
      });
    const signTyped = (typed: string, envelope: Uint8Array = right()) =>
      codeOf(
        rpc.call('sign', {
          userId: 'alice',
          walletId: 'w-alice',
          sealedBlob: w.blob,
          network: v1.Network.NETWORK_EVM,
          address: w.address,
          evmTypedData: { json: typed },
          pinEnvelope: envelope,
        }),
      );
    // An envelope for another user: refused before the typed data is even parsed.
    const other = env({
      purpose: 'sign',
      sub: 'bob',
      walletId: 'w-bob',
      network: 'evm',
      kind: 'evm-typed-data',
      address: w.address,
      digest: '0x' + '00'.repeat(32),
      pin: '493817',
    });
    expect(await signTyped(json, other)).toBe('ENVELOPE_MISMATCH');
    // A right envelope: the size cap refuses it.
    expect(await signTyped(json)).toBe('TYPED_DATA_INVALID');
    // Under the size cap, many values: the work cap refuses it.
    const many = JSON.stringify({
      ...wide,
      message: { a: Array.from({ length: 1000 }, (_, i) => i) },
      types: { ...wide.types, M: Array.from({ length: 30 }, (_, i) => ({ name: `a${i}`, type: 'uint256[]' })) },
    }).replace(/"message":\{"a":(\[[^\]]*\])\}/, (_m, arr: string) => `"message":{${Array.from({ length: 30 }, (_, i) => `"a${i}":${arr}`).join(',')}}`);
    expect(many.length).toBeLessThan(256 * 1024);
    expect(await signTyped(many)).toBe('TYPED_DATA_INVALID');
    expect(await costly()).toBe(before);
    await stillServes();
  });
});

describe('envelopes', () => {
  test('replayed, re-bound to another wallet, user, purpose or digest: refused with their codes', async () => {
    const once = env({
      purpose: 'sign',
      sub: 'alice',
      walletId: 'w-alice',
      network: 'evm',
      kind: 'evm-message',
      address: addressOf('w-alice'),
      digest: hashMessage('once'),
      pin: '493817',
    });
    expect(await codeOf(sign('w-alice', 'alice', wallets['w-alice']!.blob, undefined, 'once', once))).toBe('OK');
    expect(await codeOf(sign('w-alice', 'alice', wallets['w-alice']!.blob, undefined, 'once', once))).toBe('ENVELOPE_REPLAYED');
    const forAlice = () =>
      env({
        purpose: 'sign',
        sub: 'alice',
        walletId: 'w-alice',
        network: 'evm',
        kind: 'evm-message',
        address: addressOf('w-alice'),
        digest: hashMessage('x'),
        pin: '493817',
      });
    expect(await codeOf(sign('w-bob', 'bob', wallets['w-bob']!.blob, undefined, 'x', forAlice()))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(sign('w-alice', 'alice', wallets['w-alice']!.blob, undefined, 'another message', forAlice()))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(rpc.call('changePin', { userId: 'alice', walletId: 'w-alice', sealedBlob: wallets['w-alice']!.blob, pinEnvelope: forAlice() }))).toBe(
      'ENVELOPE_MISMATCH',
    );
    expect(
      await codeOf(
        rpc.call('deriveAccount', {
          userId: 'alice',
          walletId: 'w-alice',
          sealedBlob: wallets['w-alice']!.blob,
          network: v1.Network.NETWORK_EVM,
          index: 3,
          pinEnvelope: forAlice(),
        }),
      ),
    ).toBe('ENVELOPE_MISMATCH');
    await stillServes();
  });
});

describe('a Solana transfer passed as a message (issue 19, item 3)', () => {
  const solanaSign = (payload: { solanaMessage: { message: Uint8Array } } | { solanaTransaction: { wireTransaction: Uint8Array } }, envelope: Uint8Array) => {
    const w = wallets['w-alice']!;
    return rpc.call('sign', {
      userId: 'alice',
      walletId: 'w-alice',
      sealedBlob: w.blob,
      network: v1.Network.NETWORK_SOLANA,
      address: w.solana,
      ...payload,
      pinEnvelope: envelope,
    });
  };
  const approve = (kind: SignKind, bytes: Uint8Array) =>
    env({
      purpose: 'sign',
      sub: 'alice',
      walletId: 'w-alice',
      network: 'solana',
      kind,
      address: wallets['w-alice']!.solana,
      digest: toHex(sha256(bytes)),
      pin: '493817',
    });

  test('the 5 SOL transfer, approved as a "solana-message", is refused: no signature to put in the wire transaction', async () => {
    const victim = wallets['w-alice']!.solana;
    const message = fiveSolToAttacker(victim);
    // The attack: have the bytes signed as a message, then place the signature in the wire transaction.
    const outcome = await solanaSign({ solanaMessage: { message } }, approve('solana-message', message)).then(
      (out) => {
        const wire = wireOf(message);
        wire.set(out.signature!, 1);
        const tx = getTransactionDecoder().decode(wire);
        const verifies = ed25519.verify(tx.signatures[victim as never]!, new Uint8Array(tx.messageBytes), base58.decode(victim));
        const [ix] = decompileTransactionMessage(getCompiledTransactionMessageDecoder().decode(tx.messageBytes)).instructions as never[];
        const transfer = identifySystemInstruction(ix!) === SystemInstruction.TransferSol ? parseTransferSolInstruction(ix!) : undefined;
        const toAttacker = transfer?.accounts.destination.address === ATTACKER && transfer.data.amount === 5_000_000_000n;
        return verifies && toAttacker ? 'SIGNED A 5 SOL TRANSFER' : 'signed';
      },
      (e: unknown) => (e instanceof EnclaveWalletError ? e.code : String(e)),
    );
    expect(outcome).toBe('MESSAGE_IS_TRANSACTION');
    // v0 too (a lookup table, an SPL transfer).
    const v0 = v0WithLookup(victim);
    expect(await codeOf(solanaSign({ solanaMessage: { message: v0 } }, approve('solana-message', v0)))).toBe('MESSAGE_IS_TRANSACTION');
    await stillServes();
  });

  test('an envelope approving a message does not sign a transaction of the same bytes, nor the other way round: ENVELOPE_MISMATCH', async () => {
    const message = fiveSolToAttacker(wallets['w-alice']!.solana);
    expect(await codeOf(solanaSign({ solanaTransaction: { wireTransaction: wireOf(message) } }, approve('solana-message', message)))).toBe('ENVELOPE_MISMATCH');
    const text = new TextEncoder().encode('Sign in to Example');
    expect(await codeOf(solanaSign({ solanaMessage: { message: text } }, approve('solana-transaction', text)))).toBe('ENVELOPE_MISMATCH');
    // Nothing of the envelope comes back to the host.
    const err = (await solanaSign({ solanaMessage: { message: text } }, approve('solana-transaction', text)).catch((e: unknown) => e)) as EnclaveWalletError;
    expect(err.details).toEqual({});
    // The right kind signs.
    const out = await solanaSign({ solanaMessage: { message: text } }, approve('solana-message', text));
    expect(ed25519.verify(out.signature!, text, base58.decode(wallets['w-alice']!.solana))).toBe(true);
  });
});

describe('init', () => {
  test('guard credentials the operator did not encrypt for this purpose are refused', async () => {
    const service = await createEnclaveService(testStartupConfig(caDir));
    const other = await startEnclaveServer({ listen: 'tcp://127.0.0.1:0', logger: createLogger('error', () => {}), service });
    const c = await RpcClient.connect(other.address);
    try {
      // A ciphertext under the wallet key but with another encryption context (the host cannot make one with the guard's).
      const admin = new KMSClient({ region: 'us-east-1', endpoint: aws.kmsUrl, credentials: { ...LOCAL_KMS_CREDENTIALS } });
      await expect(
        admin.send(
          new EncryptCommand({
            KeyId: aws.keyArn,
            Plaintext: new TextEncoder().encode('{"accessKeyId":"X","secretAccessKey":"Y"}'),
            EncryptionContext: { 'enclave-wallet:purpose': 'something-else' },
          }),
        ),
      ).rejects.toMatchObject({ name: 'AccessDeniedException' });
      admin.destroy();
      expect(await codeOf(c.call('init', aws.initRequest({ guardCredentialsCiphertext: Uint8Array.from(aws.guardCiphertext).reverse() })))).toMatch(
        /^(KMS_ACCESS_DENIED|CONFIG_REJECTED)$/,
      );
      expect(await codeOf(c.call('init', aws.initRequest({ guardCredentialsCiphertext: new Uint8Array(0) })))).toBe('CONFIG_REJECTED');
      expect((await c.call('health', {})).initialized).toBe(false);
      expect(await codeOf(c.call('init', aws.initRequest()))).toBe('OK');
    } finally {
      c.close();
      await other.close();
    }
  });
});

describe('frames', () => {
  const raw = async (): Promise<Socket> => {
    const { host, port } = parseAddress(enclave.address) as { host: string; port: number };
    const s = connect(port, host);
    await new Promise<void>((r, j) => {
      s.once('connect', () => r());
      s.once('error', j);
    });
    return s;
  };
  const closedWithin = (s: Socket, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      s.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
      s.resume();
    });

  test('garbage, an oversize length, an empty frame and an undecodable payload close that connection only', async () => {
    for (const bytes of [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0, 0, 0, 0]),
      Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])]),
    ]) {
      const s = await raw();
      s.write(bytes);
      expect(await closedWithin(s, 5000)).toBe(true);
    }
    await stillServes();
  });

  test('a truncated frame and a slow one (a byte a tick) do not stall other connections', async () => {
    const truncated = await raw();
    truncated.write(Buffer.from([0, 0, 1, 0, 1, 2, 3]));
    truncated.end();
    expect(await closedWithin(truncated, 5000)).toBe(true);
    const slow = await raw();
    const frame = Buffer.from(v1.HostRequest.encode({ requestId: 7, protocolVersion: 1, health: {} }).finish());
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, frame.length]), frame]);
    const dribble = (async () => {
      for (const b of bytes) {
        if (slow.destroyed) return;
        slow.write(Buffer.of(b));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await stillServes(); // answered while the slow frame is still arriving
    await dribble;
    slow.destroy();
  });

  test('a frame over the 4 MiB cap is refused from its length alone', async () => {
    const s = await raw();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(4 * 1024 * 1024 + 1);
    s.write(header);
    expect(await closedWithin(s, 5000)).toBe(true);
    await stillServes();
  });
});

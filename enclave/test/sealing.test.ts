/**
 * Sealing: the blob opens only with the right PIN, the right wallet and owner,
 * and an untouched header; failures are counted in the guard before their
 * answer, shared by every Sealer on the same table; five in a row lock with
 * growing back-off; a PIN change makes older blobs useless. The guard is the
 * real DynamoGuard on an in-process dynalite; the data-key provider is a
 * stand-in for KMS (this is a unit test of the sealing module alone).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { argon2id as nobleArgon2id } from '@noble/hashes/argon2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { decodeBlob, decodeWalletSecret, encodeWalletSecret } from '../src/sealing/blob.js';
import { entropyToMnemonic, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { SecretBytes } from '../src/secret.js';
import { ARGON2_POLICY, StretchQueue, stretchConcurrency, stretchPin } from '../src/sealing/kdf.js';
import dynalite from 'dynalite';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { ensureGuardTable } from '@enclave-wallet/devtools';
import { DynamoGuard } from '../src/guard/guard.js';
import { parseUserId as uid, parseWalletId as wid, type WalletId } from '@enclave-wallet/proto/ids';
import { encodeBlob } from '../src/sealing/blob.js';
import { GUARD_RECORD_CACHE, keyRefOf, lockoutMs, Sealer, type DataKeyProvider } from '../src/sealing/seal.js';
import { MAX_CARRIED } from '../src/sealing/unwritten-clears.js';
import { GUESS_TTL_MS, LOCKOUT_BASE_MS as LOCKOUT_MS, tally } from '../src/guard/budget.js';
import { phases } from '../src/phases.js';

/** KMS stand-in: wraps data keys with AES-GCM under a master key, with the context as AAD. */
function fakeKms(): DataKeyProvider & { calls: number } {
  const master = randomBytes(32);
  const aad = (ctx: Record<string, string>): Uint8Array => new TextEncoder().encode(JSON.stringify(Object.entries(ctx).sort()));
  return {
    calls: 0,
    async generateDataKey(ctx) {
      this.calls++;
      const plaintext = randomBytes(32);
      const iv = randomBytes(12);
      return { plaintext: plaintext.slice(), ciphertextBlob: new Uint8Array([...iv, ...gcm(master, iv, aad(ctx)).encrypt(plaintext)]), keyId: 'key-1' };
    },
    async decryptDataKey(blob, ctx) {
      this.calls++;
      try {
        return gcm(master, blob.subarray(0, 12), aad(ctx)).decrypt(blob.subarray(12));
      } catch {
        throw new EnclaveWalletError('BLOB_INVALID', 'InvalidCiphertextException');
      }
    },
  };
}

const pin = (s: string): Uint8Array => new TextEncoder().encode(s);
/** A wallet secret: 32 bytes of BIP-39 entropy. */
const seed = Uint8Array.from({ length: 32 }, (_, i) => i);

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'OK',
    (e: unknown) => (e instanceof EnclaveWalletError ? e.code : `UNTYPED ${String(e)}`),
  );
}

describe('Argon2id', () => {
  test('RFC 9106 §5.3 vector (noble, the reference we compare against)', () => {
    const tag = nobleArgon2id(new Uint8Array(32).fill(1), new Uint8Array(16).fill(2), {
      t: 3,
      m: 32,
      p: 4,
      key: new Uint8Array(8).fill(3),
      personalization: new Uint8Array(12).fill(4),
      dkLen: 32,
    });
    expect(Buffer.from(tag).toString('hex')).toBe('0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });

  test('the enclave’s native Argon2id (argon2) agrees with noble and with hash-wasm, also at the compiled cost', async () => {
    for (const [p, salt] of [
      ['493817', 'a'.repeat(16)],
      ['000000000000', 'b'.repeat(16)],
    ] as const) {
      const ours = await stretchPin(pin(p), pin(salt), { memoryKiB: 64, iterations: 2, parallelism: 1 });
      const theirs = nobleArgon2id(pin(p), pin(salt), { t: 2, m: 64, p: 1, dkLen: 32 });
      expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
    }
    const { argon2id: wasm } = await import('hash-wasm');
    const salt = new Uint8Array(16).fill(1);
    const native = await stretchPin(pin('493817'), salt, ARGON2_POLICY);
    const reference = await wasm({
      password: pin('493817'),
      salt,
      parallelism: 1,
      iterations: 2,
      memorySize: ARGON2_POLICY.memoryKiB,
      hashLength: 32,
      outputType: 'hex',
    });
    expect(Buffer.from(native).toString('hex')).toBe(reference);
  });

  test('stretching leaves no copy of the PIN in Node’s shared Buffer pool (argon2’s own wrapper would put one there)', async () => {
    // Made and searched for without Buffer.from (which would itself put the digits in the pool).
    const needle = new Uint8Array([0x37, 0x33, 0x30, 0x35, 0x31, 0x38]); // "730518"
    const inPool = (): boolean => {
      const pool = new Uint8Array(Buffer.allocUnsafe(1).buffer);
      outer: for (let i = 0; i + needle.length <= pool.length; i++) {
        for (let j = 0; j < needle.length; j++) if (pool[i + j] !== needle[j]) continue outer;
        return true;
      }
      return false;
    };
    expect(inPool()).toBe(false);
    const secret = SecretBytes.copyOf(needle);
    const out = await stretchPin(secret, new Uint8Array(16), { memoryKiB: 64, iterations: 1, parallelism: 1 });
    secret.dispose();
    out.dispose();
    expect(inPool()).toBe(false);
    // The check can fail: argon2's wrapper, given the same PIN, leaves it in the pool.
    const { default: argon2 } = await import('argon2');
    const copy = SecretBytes.copyOf(needle);
    await argon2.hash(Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength), {
      raw: true,
      salt: Buffer.alloc(16),
      memoryCost: 64,
      timeCost: 1,
      parallelism: 1,
    });
    copy.dispose();
    expect(inPool()).toBe(true);
  });

  test('the stretch queue runs at most `concurrency` at once, in arrival order, and refuses past its bound', async () => {
    const q = new StretchQueue(2, 3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: Array<() => void> = [];
    const task = (i: number) => () =>
      new Promise<number>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        gates.push(() => {
          running--;
          resolve(i);
        });
      });
    const all = [0, 1, 2, 3, 4].map((i) => q.run(task(i)));
    await new Promise((r) => setImmediate(r));
    expect(q.depth).toEqual({ running: 2, waiting: 3 });
    await expect(q.run(task(9))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    while (gates.length) {
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(q.depth).toEqual({ running: 0, waiting: 0 });
  });

  test('the stretch queue follows a limit that changes (the process moved to fewer or more cores), in arrival order', async () => {
    let limit = 2;
    const q = new StretchQueue(() => limit, 10);
    let running = 0;
    const peaks: number[] = [];
    const order: number[] = [];
    const gates = new Map<number, () => void>();
    const task = (i: number) => () =>
      new Promise<number>((resolve) => {
        running++;
        peaks.push(running);
        order.push(i);
        gates.set(i, () => {
          running--;
          resolve(i);
        });
      });
    const tick = () => new Promise((r) => setImmediate(r));
    const all = [0, 1, 2, 3, 4, 5].map((i) => q.run(task(i)));
    await tick();
    expect(q.depth).toEqual({ running: 2, waiting: 4 });
    limit = 1; // taskset -p moved the enclave to one core
    gates.get(0)!();
    await tick();
    expect(q.depth).toEqual({ running: 1, waiting: 4 }); // 1 still runs; nothing new starts
    gates.get(1)!();
    await tick();
    expect(q.depth).toEqual({ running: 1, waiting: 3 });
    expect(order).toEqual([0, 1, 2]);
    limit = 3; // and back to more cores: the next finish starts as many as fit
    gates.get(2)!();
    await tick();
    expect(q.depth).toEqual({ running: 3, waiting: 0 });
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    // Risen while some wait and none finishes: the next arrival starts the oldest first, itself if it fits.
    limit = 1;
    const more = [6, 7, 8].map((i) => q.run(task(i)));
    await tick();
    expect(q.depth).toEqual({ running: 3, waiting: 3 });
    limit = 5;
    const last = q.run(task(9));
    await tick();
    expect(q.depth).toEqual({ running: 5, waiting: 2 });
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const i of [3, 4, 5, 6, 7]) gates.get(i)!();
    await tick();
    for (const i of [8, 9]) gates.get(i)!();
    expect(await Promise.all([...all, ...more, last])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Math.max(...peaks)).toBe(5);
    expect(q.depth).toEqual({ running: 0, waiting: 0 });
  });

  test('by default the queue admits min(libuv pool threads, the cores this process may run on now)', () => {
    expect(new StretchQueue().concurrency).toBe(stretchConcurrency());
    expect(stretchConcurrency()).toBe(Math.max(1, Math.min(Number(process.env.UV_THREADPOOL_SIZE) || 4, availableParallelism())));
  });

  test('the compiled cost is at least 19 MiB and t=2', () => {
    expect(ARGON2_POLICY.memoryKiB).toBeGreaterThanOrEqual(19 * 1024);
    expect(ARGON2_POLICY.iterations).toBeGreaterThanOrEqual(2);
  });
});

let server: ReturnType<typeof dynalite>;
let endpoint: string;
let tables = 0;
const clients: DynamoGuard[] = [];

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await new Promise((r) => server.close(r));
});

/** A fresh guard table; every guard() on it is another enclave's view of the same table. */
async function freshTable(): Promise<() => DynamoGuard> {
  const table = `guard-${++tables}`;
  await ensureGuardTable(endpoint, table);
  return () => {
    const g = new DynamoGuard({ region: 'us-east-1', endpoint, table }, { accessKeyId: 'l', secretAccessKey: 'l' });
    clients.push(g);
    return g;
  };
}

async function setup(
  now?: () => number,
): Promise<{ sealer: Sealer; kms: DataKeyProvider & { calls: number }; guard: () => DynamoGuard; another: () => Sealer }> {
  const guard = await freshTable();
  const kms = fakeKms();
  return {
    sealer: new Sealer({ provider: kms, guard: guard(), ...(now ? { now } : {}) }),
    kms,
    guard,
    another: () => new Sealer({ provider: kms, guard: guard(), ...(now ? { now } : {}) }),
  };
}

/** A wallet's guesses as the guard holds them at `now`: counted (failures and in flight), failures, lock-out. */
async function stateOf(
  g: DynamoGuard,
  walletId: WalletId,
  now = Date.now(),
): Promise<{ counted: number; failures: number; inFlight: number; lockedUntil: number }> {
  const r = (await g.get(walletId))!;
  const t = tally(r.guesses, now);
  return { counted: r.guesses.size, failures: t.failures.length, inFlight: t.inFlight, lockedUntil: t.lockedUntil };
}

const failure = (p: Promise<unknown>): Promise<EnclaveWalletError> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as EnclaveWalletError,
  );

describe('Sealer', () => {
  test('seal then open with the right PIN gives the secret back; a successful open changes nothing stored', async () => {
    const { sealer, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    expect(decodeBlob(blob)).toMatchObject({ version: 4, generation: 1 });
    const before = await guard().get(wid('w-1'));
    const opened = await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    expect([...opened.secret]).toEqual([...seed]);
    expect(opened.current).toBeUndefined();
    await opened.settled; // as the service does before it answers
    opened.dispose();
    expect(opened.secret.every((x) => x === 0)).toBe(true);
    const after = await guard().get(wid('w-1'));
    // The guess was counted and cleared (the item's rev moved on) and the PIN's use noted; nothing else changed.
    expect(after!.used.pin).toBeGreaterThan(0);
    expect({ ...after, rev: '', used: {} }).toEqual({ ...before, rev: '', used: {} });
    expect(Buffer.from(after!.blob).equals(Buffer.from(blob))).toBe(true);
  });

  test('a PIN change seals afresh under the next version; the old blob and old PIN are dead', async () => {
    const { sealer } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const opened = await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    const next = await opened.changePin(pin('270394'));
    opened.dispose();
    const [a, b] = [decodeBlob(blob), decodeBlob(next)];
    expect(b.generation).toBe(2);
    expect(Buffer.from(a.argon2.salt).equals(Buffer.from(b.argon2.salt))).toBe(false);
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false);
    expect(Buffer.from(a.kmsCiphertext).equals(Buffer.from(b.kmsCiphertext))).toBe(true);
    // The host puts back the blob sealed under the old PIN: the enclave opens the current one, so the old PIN is wrong…
    expect((await failure(sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817')))).code).toBe('PIN_INVALID');
    // …the new PIN works even through the old blob, and the answer carries the current blob for the host to store.
    const healed = await sealer.open(blob, wid('w-1'), uid('u-1'), pin('270394'));
    expect(Buffer.from(healed.current!).equals(Buffer.from(next))).toBe(true);
    expect([...healed.secret]).toEqual([...seed]);
  });

  test('the blob does not contain the secret or the PIN in clear', async () => {
    const { sealer } = await setup();
    const blob = Buffer.from(await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817')));
    expect(blob.includes(Buffer.from(seed.subarray(0, 16)))).toBe(false);
    expect(blob.includes(Buffer.from('493817'))).toBe(false);
  });

  test('another wallet id or owner is BLOB_MISMATCH; an existing wallet id cannot be sealed again', async () => {
    const { sealer } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    expect(await codeOf(sealer.open(blob, wid('w-2'), uid('u-1'), pin('493817')))).toBe('BLOB_MISMATCH');
    expect(await codeOf(sealer.open(blob, wid('w-1'), uid('u-2'), pin('493817')))).toBe('BLOB_MISMATCH');
    expect(await codeOf(sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('270394')))).toBe('WALLET_EXISTS');
  });

  test('a second blob minted for the victim’s wallet id (own data key, own PIN) is refused', async () => {
    const { sealer, guard } = await setup();
    const victim = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    // Another deployment's guard lets the attacker mint a blob for the same id under a PIN it knows.
    const { sealer: elsewhere } = await setup();
    const minted = await elsewhere.sealNew(wid('w-1'), uid('u-1'), new Uint8Array(32).fill(9), pin('111222'));
    expect(await codeOf(sealer.open(minted, wid('w-1'), uid('u-1'), pin('111222')))).toBe('BLOB_MISMATCH');
    // Refused before any guess is counted, and the victim's wallet is untouched.
    expect((await stateOf(guard(), wid('w-1'))).counted).toBe(0);
    expect((await sealer.open(victim, wid('w-1'), uid('u-1'), pin('493817'))).secret).toEqual(seed);
  });

  test('changing any byte of the header makes the blob refuse to open (layout-1 adoption path)', async () => {
    const { sealer, kms } = await setup();
    const blob = await legacyBlob(kms);
    const sealedLength = decodeBlob(blob).sealedPart.length;
    const seen = new Set<string>();
    for (let i = 0; i < sealedLength - 40; i++) {
      const copy = Uint8Array.from(blob);
      copy[i]! ^= 0x01;
      const code = await codeOf(sealer.open(copy, wid('w-1'), uid('u-1'), pin('493817')));
      if (code === 'OK' || code.startsWith('UNTYPED')) throw new Error(`byte ${i}: ${code}`);
      seen.add(code);
    }
    expect([...seen].every((c) => ['BLOB_INVALID', 'BLOB_MISMATCH'].includes(c))).toBe(true);
  }, 120_000);

  test('flipping any byte of the current blob is a typed refusal, and no guess is counted', async () => {
    const { sealer, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const seen = new Set<string>();
    for (let i = 0; i < blob.length; i++) {
      const copy = Uint8Array.from(blob);
      copy[i]! ^= 0x01;
      const code = await codeOf(sealer.open(copy, wid('w-1'), uid('u-1'), pin('493817')));
      if (!['BLOB_INVALID', 'BLOB_MISMATCH'].includes(code)) throw new Error(`byte ${i}: ${code}`);
      seen.add(code);
    }
    expect(seen).toEqual(new Set(['BLOB_INVALID', 'BLOB_MISMATCH']));
    expect((await stateOf(guard(), wid('w-1'))).counted).toBe(0);
  }, 60_000);

  test('an older blob whose bytes were altered is not used to heal the host', async () => {
    const { sealer } = await setup();
    const v1 = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const opened = await sealer.open(v1, wid('w-1'), uid('u-1'), pin('493817'));
    await opened.changePin(pin('270394'));
    opened.dispose();
    const tampered = Uint8Array.from(v1);
    tampered[tampered.length - 40]! ^= 0x01; // inside the ciphertext: parses, same generation 1 < 2
    expect(await codeOf(sealer.open(tampered, wid('w-1'), uid('u-1'), pin('270394')))).toBe('BLOB_INVALID');
    expect(await codeOf(sealer.open(v1, wid('w-1'), uid('u-1'), pin('270394')))).toBe('OK');
  }, 60_000);

  test('wrong PINs are counted in the guard; five lock with growing back-off; the right PIN resets', async () => {
    let now = 1_000_000;
    const { sealer, guard } = await setup(() => now);
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    for (let i = 1; i <= 4; i++) {
      const err = await failure(sealer.open(blob, wid('w-1'), uid('u-1'), pin('000000')));
      expect(err.code).toBe('PIN_INVALID');
      expect(err.details.attemptsLeft).toBe(5 - i);
      expect(err.toProto()).not.toHaveProperty('sealedBlob');
      expect(await stateOf(guard(), wid('w-1'), now)).toMatchObject({ counted: i, failures: i });
    }
    const fifth = await failure(sealer.open(blob, wid('w-1'), uid('u-1'), pin('000000')));
    expect(fifth.code).toBe('PIN_LOCKED');
    expect(fifth.details.retryAfter).toBe(60);
    // Even the right PIN is not tried while locked.
    expect(await codeOf(sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817')))).toBe('PIN_LOCKED');
    now += 61_000;
    const sixth = await failure(sealer.open(blob, wid('w-1'), uid('u-1'), pin('000000')));
    expect(sixth.code).toBe('PIN_LOCKED');
    expect(sixth.details.retryAfter).toBe(120);
    now += 121_000;
    const right = await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    await right.settled;
    right.dispose();
    expect(await stateOf(guard(), wid('w-1'), now)).toMatchObject({ counted: 0, lockedUntil: 0 });
    expect(lockoutMs(4)).toBe(0);
    expect(lockoutMs(40)).toBe(24 * 3600_000);
  }, 60_000);

  test('guesses through another Sealer on the same table (another enclave, a restart) share the count', async () => {
    const { sealer, another } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    expect((await failure(sealer.open(blob, wid('w-1'), uid('u-1'), pin('000000')))).details.attemptsLeft).toBe(4);
    expect((await failure(another().open(blob, wid('w-1'), uid('u-1'), pin('000000')))).details.attemptsLeft).toBe(3);
    expect((await failure(another().open(blob, wid('w-1'), uid('u-1'), pin('000000')))).details.attemptsLeft).toBe(2);
  }, 60_000);

  test('eight concurrent wrong PINs: five are counted and answered, the other three wait and find the wallet locked', async () => {
    const { sealer, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => codeOf(sealer.open(blob, wid('w-1'), uid('u-1'), pin(`00000${i}`)))));
    const state = await stateOf(guard(), wid('w-1'));
    // Five are answered (the fifth to fail locks); the rest waited for a place, then found the wallet locked.
    expect(results.filter((c) => c === 'PIN_INVALID')).toHaveLength(4);
    expect(results.filter((c) => c === 'PIN_LOCKED')).toHaveLength(4);
    expect(state).toMatchObject({ counted: 5, failures: 5, inFlight: 0 });
    expect(state.lockedUntil).toBeGreaterThan(Date.now());
  }, 60_000);

  test('a layout-1 blob (before the guard) is adopted once with its counts, then the guard rules', async () => {
    const { sealer, kms, guard } = await setup();
    const old = await legacyBlob(kms, 2);
    const err = await failure(sealer.open(old, wid('w-1'), uid('u-1'), pin('000000')));
    expect(err.details.attemptsLeft).toBe(2);
    expect(await guard().get(wid('w-1'))).toMatchObject({ version: 0, keyRef: keyRefOf(decodeBlob(old).kmsCiphertext) });
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 3, failures: 3 });
    (await sealer.open(old, wid('w-1'), uid('u-1'), pin('493817'))).dispose();
    // A layout-1 blob whose counts the host lowered fails its MAC.
    const { sealer: fresh, kms: kms2 } = await setup();
    const forged = Uint8Array.from(await legacyBlob(kms2, 3));
    forged[decodeBlob(forged).sealedPart.length + 3] = 0;
    expect(await codeOf(fresh.open(forged, wid('w-1'), uid('u-1'), pin('493817')))).toBe('BLOB_INVALID');
  }, 60_000);

  test('with the pinned key known, a blob naming another key is BLOB_MISMATCH before any guess', async () => {
    const { sealer, kms, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const pinned = new Sealer({ provider: kms, guard: guard(), kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' });
    expect(await codeOf(pinned.open(blob, wid('w-1'), uid('u-1'), pin('493817')))).toBe('BLOB_MISMATCH');
    expect((await stateOf(guard(), wid('w-1'))).counted).toBe(0);
    expect(await codeOf(new Sealer({ provider: kms, guard: guard(), kmsKeyArn: 'key-1' }).open(blob, wid('w-1'), uid('u-1'), pin('493817')))).toBe('OK');
  });

  test('a layout-2 blob with no guard record is refused; garbage is BLOB_INVALID', async () => {
    const { sealer } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const { sealer: other } = await setup();
    expect(await codeOf(other.open(blob, wid('w-1'), uid('u-1'), pin('493817')))).toBe('BLOB_INVALID');
    for (const bytes of [new Uint8Array(0), new TextEncoder().encode('EWSB'), new Uint8Array(100).fill(7), new Uint8Array(20000)]) {
      expect(await codeOf(sealer.open(bytes, wid('w-1'), uid('u-1'), pin('493817')))).toBe('BLOB_INVALID');
    }
  });

  test('an unreachable guard fails closed with GUARD_UNAVAILABLE', async () => {
    const { sealer } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const dead = new Sealer({
      provider: fakeKms(),
      guard: new DynamoGuard({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', table: 'x' }, { accessKeyId: 'l', secretAccessKey: 'l' }),
    });
    expect(await codeOf(dead.open(blob, wid('w-1'), uid('u-1'), pin('493817')))).toBe('GUARD_UNAVAILABLE');
    expect(await codeOf(dead.sealNew(wid('w-9'), uid('u-1'), seed, pin('493817')))).toBe('GUARD_UNAVAILABLE');
  });
});

/** A blob in the first layout (before the guard), as an earlier release wrote it, with `failed` counted under its MAC. */
/** A blob as an older image sealed it: version 1 (counts in the blob, no guard record) or 2 (the entropy alone). */
async function legacyBlob(kms: DataKeyProvider, failed = 0, version: 1 | 2 = 1): Promise<Uint8Array> {
  const { xchacha20poly1305 } = await import('@noble/ciphers/chacha.js');
  const { hmac } = await import('@noble/hashes/hmac.js');
  const { sha256 } = await import('@noble/hashes/sha2.js');
  const { associatedData, encodeSealedPart, stateMacInput } = await import('../src/sealing/blob.js');
  const { seedKey, stateKey } = await import('../src/sealing/kdf.js');
  const dk = await kms.generateDataKey({ 'enclave-wallet:wallet-id': 'w-1', 'enclave-wallet:user-id': 'u-1' });
  const salt = randomBytes(16);
  const header = {
    version,
    generation: version === 2 ? 1 : 0,
    walletId: 'w-1',
    ownerUserId: 'u-1',
    kmsKeyId: dk.keyId,
    kmsCiphertext: dk.ciphertextBlob,
    argon2: { ...ARGON2_POLICY, salt },
    aeadId: 1,
    nonce: randomBytes(24),
  };
  const key = seedKey(dk.plaintext, await stretchPin(pin('493817'), salt, ARGON2_POLICY), salt);
  const ciphertext = xchacha20poly1305(key, header.nonce, associatedData(header, 32 + 16)).encrypt(new Uint8Array(32).fill(5));
  const state = { failedAttempts: failed, lockedUntilMs: 0 };
  const stateMac = hmac(sha256, stateKey(dk.plaintext), stateMacInput(encodeSealedPart({ ...header, ciphertext }), state));
  return encodeBlob({ ...header, ciphertext, state, stateMac });
}

describe('blob version 3: the BIP-39 seed sealed next to the entropy', () => {
  test('opening gives the entropy and its seed (checked with @scure/bip39), for 24- and 12-word wallets', async () => {
    const { sealer } = await setup();
    for (const [walletId, entropy] of [
      [wid('w-1'), seed],
      [wid('w-12'), new Uint8Array(16).fill(7)],
    ] as const) {
      const blob = await sealer.sealNew(walletId, uid('u-1'), entropy, pin('493817'));
      const parsed = decodeBlob(blob);
      expect(parsed.version).toBe(4);
      expect(parsed.ciphertext.length).toBe(entropy.length + 64 + 16);
      const opened = await sealer.open(blob, walletId, uid('u-1'), pin('493817'));
      await opened.settled;
      expect([...opened.secret]).toEqual([...entropy]);
      expect(Buffer.from(opened.seed!).toString('hex')).toBe(Buffer.from(mnemonicToSeedSync(entropyToMnemonic(entropy, english))).toString('hex'));
      opened.dispose();
      expect(opened.seed!.every((x) => x === 0)).toBe(true);
    }
  }, 60_000);

  test('a version-2 blob (the entropy alone) still opens, with no seed; its first PIN change writes version 4 with the seed', async () => {
    const { sealer, guard, kms } = await setup();
    const v2 = await legacyBlob(kms, 0, 2);
    const parsed = decodeBlob(v2);
    await guard().create({ walletId: wid('w-1'), owner: uid('u-1'), keyRef: keyRefOf(parsed.kmsCiphertext), version: 1, blob: v2, guesses: new Map() });
    const opened = await sealer.open(v2, wid('w-1'), uid('u-1'), pin('493817'));
    expect([...opened.secret]).toEqual(Array(32).fill(5));
    expect(opened.seed).toBeUndefined();
    const next = await opened.changePin(pin('270394'));
    opened.dispose();
    expect(decodeBlob(next)).toMatchObject({ version: 4, generation: 2 });
    const reopened = await sealer.open(next, wid('w-1'), uid('u-1'), pin('270394'));
    await reopened.settled;
    expect(Buffer.from(reopened.seed!).toString('hex')).toBe(
      Buffer.from(mnemonicToSeedSync(entropyToMnemonic(new Uint8Array(32).fill(5), english))).toString('hex'),
    );
    reopened.dispose();
  }, 60_000);

  test('the sealed secret must be entropy of a BIP-39 length, plus 64 seed bytes from version 3 on', () => {
    const entropy = new Uint8Array(32).fill(1);
    const seedBytes = new Uint8Array(64).fill(2);
    expect(decodeWalletSecret(3, encodeWalletSecret(3, { entropy, seed: seedBytes }))).toEqual({ entropy, seed: seedBytes });
    expect(decodeWalletSecret(2, encodeWalletSecret(2, { entropy, seed: seedBytes }))).toEqual({ entropy, seed: undefined });
    for (const [version, length] of [
      [3, 32],
      [3, 95],
      [2, 96],
      [2, 15],
    ] as const)
      expect(() => decodeWalletSecret(version, new Uint8Array(length))).toThrow(expect.objectContaining({ code: 'BLOB_INVALID' }));
    expect(() => encodeWalletSecret(3, { entropy, seed: undefined })).toThrow(RangeError);
  });

  test('the blob writer refuses a value its field cannot hold, instead of masking it', async () => {
    const { sealer } = await setup();
    const blob = decodeBlob(await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817')));
    expect(() => encodeBlob(blob)).not.toThrow();
    for (const bad of [{ generation: 2 ** 32 }, { generation: -1 }, { aeadId: 256 }, { slots: [{ ...blob.slots![0]!, createdAt: -1 }] }])
      expect(() => encodeBlob({ ...blob, ...bad })).toThrow(RangeError);
  });
});

describe('counting without wasting a stretch', () => {
  const ran = (name: string): number => phases.snapshot().find((p) => p.name === name)?.count ?? 0;

  test('a guess counted by another enclave between this one’s read and its count costs no re-read, no second stretch, and is not cleared', async () => {
    const { sealer, guard, kms } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    // Another enclave's guess is counted between this enclave's read and its count write, and is still in flight.
    const racing = guard();
    const real = racing.admit.bind(racing);
    let raced = false;
    racing.admit = async (walletId, read, token, at, mode) => {
      if (!raced) {
        raced = true;
        await guard().admit(walletId, read, 'another-enclave', at, 'budget');
      }
      return real(walletId, read, token, at, mode);
    };
    const [reads, stretches] = [ran('guard_read'), ran('stretch')];
    const opened = await new Sealer({ provider: kms, guard: racing }).open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    expect(raced).toBe(true);
    expect([...opened.secret]).toEqual([...seed]);
    expect(ran('stretch') - stretches).toBe(1);
    expect(ran('guard_read') - reads).toBe(1); // the first read of the wallet, none after
    // This right PIN clears its own guess only: the other enclave's guess stays counted, in flight.
    await opened.settled;
    opened.dispose();
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 1, inFlight: 1 });
  }, 60_000);

  test('back-to-back right PINs in one enclave: each counts after the previous clear, with no conflict and no re-read', async () => {
    const { sealer, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const [reads, stretches] = [ran('guard_read'), ran('stretch')];
    for (let i = 0; i < 4; i++) {
      const opened = await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
      opened.dispose(); // as the service answers: without waiting for the clear
    }
    expect(ran('guard_read')).toBe(reads);
    expect(ran('stretch') - stretches).toBe(4);
    const last = await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    await last.settled;
    last.dispose();
    // Every right PIN's clear lands, whenever it lands: nothing stays counted.
    await new Promise((r) => setTimeout(r, 200));
    expect((await stateOf(guard(), wid('w-1'))).counted).toBe(0);
  }, 60_000);
});

/** A guard whose clear writes wait until `release()`: a host holding the enclave's traffic back. */
function heldClears(slow: DynamoGuard): { slow: DynamoGuard; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const clear = slow.clear.bind(slow);
  slow.clear = async (walletId, token, failures) => {
    await gate;
    return clear(walletId, token, failures);
  };
  return { slow, release };
}

describe('Sealer under a concurrent PIN change', () => {
  test('a right PIN’s clear delivered after a PIN change still removes its own guess; that open cannot change the PIN again', async () => {
    const { sealer, guard, kms } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    // This enclave's clear write is held until the other enclave has changed the PIN.
    const { slow, release } = heldClears(guard());
    const held = await new Sealer({ provider: kms, guard: slow }).open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    const changer = await new Sealer({ provider: kms, guard: guard() }).open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    await changer.settled;
    await changer.changePin(pin('270394'));
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 1, inFlight: 1 }); // the held guess
    release();
    await held.settled;
    expect((await stateOf(guard(), wid('w-1'))).counted).toBe(0);
    expect(await codeOf(held.changePin(pin('111333')))).toBe('WALLET_CONFLICT');
    held.dispose();
    changer.dispose();
  }, 60_000);

  test('a right PIN’s clear held back (a host delaying the write) erases no guess counted after it', async () => {
    const { sealer, guard, kms } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const { slow, release } = heldClears(guard());
    const held = await new Sealer({ provider: kms, guard: slow }).open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    // Meanwhile three wrong guesses through another enclave are counted next to the right one.
    const other = new Sealer({ provider: kms, guard: guard() });
    for (let i = 0; i < 3; i++) expect((await failure(other.open(blob, wid('w-1'), uid('u-1'), pin(`00000${i}`)))).code).toBe('PIN_INVALID');
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 4, failures: 3, inFlight: 1 });
    // The held clear arrives late: it removes its own guess, and none of the three counted after it.
    release();
    await held.settled;
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 3, failures: 3, inFlight: 0 });
    held.dispose();
    // The next right PIN clears the count, as always.
    const right = await other.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    await right.settled;
    right.dispose();
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 0, lockedUntil: 0 });
  }, 60_000);
});

describe('one guard write per signature: a right guess’s clear is carried by the next count', () => {
  /** The guard's writes by kind, through one enclave's guard. */
  function counted(g: DynamoGuard): { g: DynamoGuard; writes: { admit: number; clear: number } } {
    const writes = { admit: 0, clear: 0 };
    const admit = g.admit.bind(g);
    const clear = g.clear.bind(g);
    g.admit = (...args) => (writes.admit++, admit(...args));
    g.clear = (...args) => (writes.clear++, clear(...args));
    return { g, writes };
  }

  test('back-to-back right PINs: one write each; the last clear is written when flushed; nothing stays counted', async () => {
    const { kms, guard } = await setup();
    const { g, writes } = counted(guard());
    const sealer = new Sealer({ provider: kms, guard: g, clearDelayMs: 60_000 });
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    for (let i = 0; i < 4; i++) (await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'))).dispose();
    expect(writes).toEqual({ admit: 4, clear: 0 });
    // Only the last right guess is still in the guard (pending): each count removed the one before.
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 1, inFlight: 1, failures: 0 });
    expect((await guard().get(wid('w-1')))!.used.pin).toBeGreaterThan(0);
    await sealer.flushClears();
    expect(writes).toEqual({ admit: 4, clear: 1 });
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 0 });
  }, 30_000);

  test('the records this enclave remembers: a wallet used again within their lifetime is not read again; after it, once', async () => {
    let now = Date.now();
    const { kms, guard } = await setup(() => now);
    const g = guard();
    let reads = 0;
    const get = g.get.bind(g);
    g.get = (...args) => (reads++, get(...args));
    const sealer = new Sealer({ provider: kms, guard: g, clearDelayMs: 0, now: () => now });
    const [w, u] = [wid('w-1'), uid('u-1')];
    const blob = await sealer.sealNew(w, u, seed, pin('493817'));
    const use = async (): Promise<void> => {
      const opened = await sealer.open(blob, w, u, pin('493817'));
      await opened.settled;
      opened.dispose();
    };
    await use();
    expect(reads).toBe(0); // remembered from the seal
    // Each use sets the record afresh: two uses each just within the lifetime of the one before are not read.
    now += GUARD_RECORD_CACHE.ttlMs - 1_000;
    await use();
    now += GUARD_RECORD_CACHE.ttlMs - 1_000;
    await use();
    expect(reads).toBe(0);
    now += GUARD_RECORD_CACHE.ttlMs + 1;
    await use();
    expect(reads).toBe(1);
    await use();
    expect(reads).toBe(1);
    expect(await stateOf(guard(), w, now)).toMatchObject({ counted: 0 });
  }, 30_000);

  test('a clear no count carries is written on its own when due', async () => {
    const { kms, guard } = await setup();
    const { g, writes } = counted(guard());
    const sealer = new Sealer({ provider: kms, guard: g, clearDelayMs: 100 });
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const opened = await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    opened.dispose();
    await opened.settled;
    expect(writes).toEqual({ admit: 1, clear: 1 });
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 0 });
  }, 30_000);

  test('failures a right PIN saw leave with the next count, and the budget stays exactly five', async () => {
    const { kms, guard } = await setup();
    const sealer = new Sealer({ provider: kms, guard: guard(), clearDelayMs: 60_000 });
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    for (let i = 0; i < 4; i++) expect((await failure(sealer.open(blob, wid('w-1'), uid('u-1'), pin(`00000${i}`)))).code).toBe('PIN_INVALID');
    (await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'))).dispose();
    // Not written yet: the guard holds four failures and the right guess (pending).
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 5, failures: 4, inFlight: 1 });
    // The next guesses carry that clear: five wrong PINs are answered, attempts left 4 … 1, then the lock.
    const left: Array<number | undefined> = [];
    for (let i = 0; i < 4; i++) left.push((await failure(sealer.open(blob, wid('w-1'), uid('u-1'), pin(`11111${i}`)))).details?.attemptsLeft as number);
    expect(left).toEqual([4, 3, 2, 1]);
    expect((await failure(sealer.open(blob, wid('w-1'), uid('u-1'), pin('111119')))).code).toBe('PIN_LOCKED');
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 5, failures: 5, inFlight: 0 });
  }, 30_000);

  test('after a lock-out: a right PIN, then another at once (it carries the five failures away), then a wrong one: four left', async () => {
    let now = Date.now();
    const { kms, guard } = await setup(() => now);
    const sealer = new Sealer({ provider: kms, guard: guard(), clearDelayMs: 60_000, now: () => now });
    const [w, u] = [wid('w-1'), uid('u-1')];
    const blob = await sealer.sealNew(w, u, seed, pin('493817'));
    for (let i = 0; i < 5; i++) await failure(sealer.open(blob, w, u, pin(`00000${i}`)));
    expect((await failure(sealer.open(blob, w, u, pin('493817')))).code).toBe('PIN_LOCKED');
    now += LOCKOUT_MS + 1;
    (await sealer.open(blob, w, u, pin('493817'))).dispose(); // the one guess after a lock-out
    (await sealer.open(blob, w, u, pin('493817'))).dispose(); // carries the first one's clear: its token and five failures
    expect(await stateOf(guard(), w, now)).toMatchObject({ counted: 1, failures: 0, inFlight: 1 });
    expect((await failure(sealer.open(blob, w, u, pin('111111')))).details?.attemptsLeft).toBe(4);
  }, 30_000);

  test('a clear that would remove more than MAX_CARRIED tokens is not carried: written on its own', async () => {
    let now = Date.now();
    const { kms, guard } = await setup(() => now);
    const { g, writes } = counted(guard());
    const sealer = new Sealer({ provider: kms, guard: g, clearDelayMs: 60_000, now: () => now });
    const [w, u] = [wid('w-1'), uid('u-1')];
    const blob = await sealer.sealNew(w, u, seed, pin('493817'));
    // Five failures, then one more after each lock-out: MAX_CARRIED + 1 failures.
    for (let i = 0; i <= MAX_CARRIED; i++) {
      if (i >= 5) now += lockoutMs(i) + 1;
      await failure(sealer.open(blob, w, u, pin(`0${String(i).padStart(5, '0')}`)));
    }
    now += lockoutMs(MAX_CARRIED + 1) + 1;
    (await sealer.open(blob, w, u, pin('493817'))).dispose(); // saw MAX_CARRIED + 1 failures
    const before = { ...writes };
    (await sealer.open(blob, w, u, pin('493817'))).dispose(); // does not carry them
    expect(writes.admit - before.admit).toBe(1);
    await sealer.flushClears();
    expect(await stateOf(guard(), w, now)).toMatchObject({ counted: 0 });
  }, 120_000);

  test('another enclave sees the budget the carried clear leaves: it counts its guesses against the same five', async () => {
    const { kms, guard, another } = await setup();
    const sealer = new Sealer({ provider: kms, guard: guard(), clearDelayMs: 60_000 });
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    for (let i = 0; i < 3; i++) await failure(sealer.open(blob, wid('w-1'), uid('u-1'), pin(`00000${i}`)));
    (await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'))).dispose();
    // The other enclave reads three failures and one pending guess: one place left, then it waits or locks;
    // it never gets more than the budget, whatever this enclave has not written yet.
    const other = another();
    expect((await failure(other.open(blob, wid('w-1'), uid('u-1'), pin('222220')))).details?.attemptsLeft).toBe(0);
    await sealer.flushClears();
    // Once written, the three failures the right PIN saw are gone: the other enclave's failure is the only one.
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 1, failures: 1, inFlight: 0 });
  }, 30_000);

  test('an enclave that dies before writing a clear leaves its guess counted: after its TTL it is a failure (fail closed)', async () => {
    let now = Date.now();
    const { kms, guard } = await setup(() => now);
    const dying = new Sealer({ provider: kms, guard: guard(), clearDelayMs: 60_000, now: () => now });
    const blob = await dying.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    (await dying.open(blob, wid('w-1'), uid('u-1'), pin('493817'))).dispose();
    now += GUESS_TTL_MS + 1;
    expect(await stateOf(guard(), wid('w-1'), now)).toMatchObject({ counted: 1, failures: 1, inFlight: 0 });
  }, 30_000);

  test('a PIN change right after a signature writes the clear first: the new version starts with nothing counted', async () => {
    const { kms, guard } = await setup();
    const sealer = new Sealer({ provider: kms, guard: guard(), clearDelayMs: 60_000 });
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    (await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'))).dispose();
    const opened = await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    const next = await opened.changePin(pin('771204'));
    opened.dispose();
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 0 });
    (await sealer.open(next, wid('w-1'), uid('u-1'), pin('771204'))).dispose();
  }, 30_000);
});

describe('a host holding answers back gets no more than five wrong-PIN answers between two right PINs', () => {
  test('guesses whose KMS answers were held past their TTL are never answered, even while a right PIN’s clear waits to be carried', async () => {
    let now = Date.now();
    const { kms, guard } = await setup(() => now);
    const [w, u] = [wid('w-1'), uid('u-1')];
    const user = new Sealer({ provider: kms, guard: guard(), now: () => now });
    const blob = await user.sealNew(w, u, seed, pin('493817'));
    // The host holds the data key of four wrong guesses (through another enclave) past their TTL.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held: DataKeyProvider = { generateDataKey: (c) => kms.generateDataKey(c), decryptDataKey: async (b, c) => (await gate, kms.decryptDataKey(b, c)) };
    const attacker = new Sealer({ provider: held, guard: guard(), now: () => now });
    const guesses = [0, 1, 2, 3].map((i) => codeOf(attacker.open(blob, w, u, pin(`00000${i}`))));
    for (let i = 0; i < 250 && (await stateOf(guard(), w, now)).inFlight < 4; i++) await new Promise((r) => setTimeout(r, 20));
    now += GUESS_TTL_MS + 1;
    // The user signs: the right PIN sees the four as failures, and its clear waits to be carried...
    (await user.open(blob, w, u, pin('493817'))).dispose();
    // ...while the host releases the held answers.
    release();
    const released = await Promise.all(guesses);
    expect(released).toEqual(Array(4).fill('GUARD_UNAVAILABLE'));
    await user.flushClears();
    // The budget between the two right PINs: five answers, the fifth locking; the held four told nothing.
    const fresh: string[] = [];
    for (let i = 0; i < 6; i++) fresh.push(await codeOf(attacker.open(blob, w, u, pin(`11111${i}`))));
    expect(fresh).toEqual([...Array(4).fill('PIN_INVALID'), 'PIN_LOCKED', 'PIN_LOCKED']);
  }, 60_000);

  test('a right PIN whose count answer was lost does not clear wrong guesses counted after it', async () => {
    let now = Date.now();
    const { kms, guard } = await setup(() => now);
    const [w, u] = [wid('w-1'), uid('u-1')];
    const attacker = new Sealer({ provider: kms, guard: guard(), now: () => now });
    const blob = await attacker.sealNew(w, u, seed, pin('493817'));
    const early: string[] = [];
    const lossy = guard();
    const admit = lossy.admit.bind(lossy);
    let calls = 0;
    lossy.admit = async (...args) => {
      if (++calls === 1) {
        await admit(...args); // the user's count lands; its answer is dropped and the retry held...
        for (let i = 0; i < 4; i++) {
          now += 1000;
          early.push(await codeOf(attacker.open(blob, w, u, pin(`00000${i}`)))); // ...while four wrong guesses are answered
        }
      }
      return admit(...args); // the retry fails on its own token; the enclave reads the item back
    };
    const user = new Sealer({ provider: kms, guard: lossy, now: () => now, clearDelayMs: 0 });
    const right = await user.open(blob, w, u, pin('493817'));
    await right.settled;
    right.dispose();
    expect(early).toEqual(Array(4).fill('PIN_INVALID'));
    // The four failures stay: they were counted after the right PIN, which did not see them.
    expect(await stateOf(guard(), w, now)).toMatchObject({ failures: 4, inFlight: 0 });
    const fresh: string[] = [];
    for (let i = 0; i < 2; i++) fresh.push(await codeOf(attacker.open(blob, w, u, pin(`11111${i}`))));
    // So the fifth wrong guess locks: five answers in all, not four more after the right PIN.
    expect(fresh).toEqual(['PIN_LOCKED', 'PIN_LOCKED']);
  }, 60_000);
});

describe('concurrent guesses on one wallet', () => {
  const ran = (name: string): number => phases.snapshot().find((p) => p.name === name)?.count ?? 0;

  test('32 concurrent right PINs in one enclave all open, as one guess: one count, one stretch', async () => {
    const { sealer, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const [counts, stretches] = [ran('guard_count'), ran('stretch')];
    const opened = await Promise.all(Array.from({ length: 32 }, () => sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'))));
    for (const o of opened) expect([...o.secret]).toEqual([...seed]);
    expect(ran('stretch') - stretches).toBe(1);
    expect(ran('guard_count') - counts).toBe(1);
    // Each request has its own copy: disposing one leaves the others whole.
    opened[0]!.dispose();
    expect([...opened[1]!.secret]).toEqual([...seed]);
    await Promise.all(opened.map((o) => o.settled));
    for (const o of opened) o.dispose();
    expect((await stateOf(guard(), wid('w-1'))).counted).toBe(0);
  }, 60_000);

  test('32 right PINs split over two enclaves, and again in waves, all open', async () => {
    const { sealer, another, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const enclaves = [another(), another()];
    for (let wave = 0; wave < 3; wave++) {
      const codes = await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          enclaves[i % 2]!.open(blob, wid('w-1'), uid('u-1'), pin('493817')).then(
            (o) => (o.dispose(), 'OK'),
            (e: EnclaveWalletError) => e.code,
          ),
        ),
      );
      expect(codes.filter((c) => c !== 'OK')).toEqual([]);
    }
    // The last clears land after the answers (carried by a later count, or written when due: now).
    await Promise.all(enclaves.map((e) => e.flushClears()));
    expect((await stateOf(guard(), wid('w-1'))).counted).toBe(0);
  }, 60_000);

  test('right PINs with distinct wrong PINs mixed in: every right one opens, and the budget stays exactly five', async () => {
    const { sealer, another, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const enclaves = [sealer, another()];
    const jobs = Array.from({ length: 32 }, (_, i) => enclaves[i % 2]!.open(blob, wid('w-1'), uid('u-1'), pin('493817')).then((o) => (o.dispose(), 'OK')));
    const wrong = [0, 1, 2].map((i) => codeOf(enclaves[i % 2]!.open(blob, wid('w-1'), uid('u-1'), pin(`11122${i}`))));
    expect(await Promise.all(jobs)).toEqual(Array(32).fill('OK'));
    expect(await Promise.all(wrong)).toEqual(Array(3).fill('PIN_INVALID'));
    await Promise.all(enclaves.map((e) => e.flushClears()));
    // The wrong ones answered after a right one's count stay counted; the rest were cleared by it.
    const left = await stateOf(guard(), wid('w-1'));
    expect(left.inFlight).toBe(0);
    expect(left.failures).toBeLessThanOrEqual(3);
    // From here, exactly five minus those are answered before the wallet locks.
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await codeOf(another().open(blob, wid('w-1'), uid('u-1'), pin(`33344${i}`))));
    expect(answers.filter((c) => c === 'PIN_INVALID')).toHaveLength(4 - left.failures);
    expect(answers[4 - left.failures]).toBe('PIN_LOCKED');
    expect((await stateOf(guard(), wid('w-1'))).failures).toBe(5);
  }, 60_000);

  test('eight concurrent copies of the same wrong PIN are one guess, one failure', async () => {
    const { sealer, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const codes = await Promise.all(Array.from({ length: 8 }, () => codeOf(sealer.open(blob, wid('w-1'), uid('u-1'), pin('000000')))));
    expect(codes).toEqual(Array(8).fill('PIN_INVALID'));
    expect(await stateOf(guard(), wid('w-1'))).toMatchObject({ counted: 1, failures: 1 });
  }, 60_000);

  test('a guess whose enclave died before answering counts: it takes a place at once, and is a failure after its TTL', async () => {
    let now = Date.now();
    const { sealer, guard } = await setup(() => now);
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    for (let i = 0; i < 4; i++) expect(await codeOf(sealer.open(blob, wid('w-1'), uid('u-1'), pin(`00000${i}`)))).toBe('PIN_INVALID');
    // An enclave counts a guess and dies before its answer.
    const record = (await guard().get(wid('w-1')))!;
    await guard().admit(wid('w-1'), record, 'died-mid-guess', now, 'budget');
    // The next guess, even the right PIN, finds all five places taken and waits…
    const waiting = codeOf(sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817')));
    await new Promise((r) => setTimeout(r, 300));
    expect(await stateOf(guard(), wid('w-1'), now)).toMatchObject({ failures: 4, inFlight: 1 });
    // …until the dead guess expires: a failure, the fifth, and the wallet locks.
    now += GUESS_TTL_MS + 1;
    expect(await waiting).toBe('PIN_LOCKED');
    expect(await stateOf(guard(), wid('w-1'), now)).toMatchObject({ failures: 5, inFlight: 0 });
  }, 60_000);
});

describe('the budget against a host that delays, loses and reorders (review findings)', () => {
  test('a wrong PIN whose guess outlived its TTL (KMS answer held back) and was cleared is never answered', async () => {
    let now = Date.now();
    const { sealer, guard, kms } = await setup(() => now);
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    // The host holds the KMS answers of four wrong guesses past their TTL…
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held: DataKeyProvider = { generateDataKey: (c) => kms.generateDataKey(c), decryptDataKey: async (b, c) => (await gate, kms.decryptDataKey(b, c)) };
    const attacker = new Sealer({ provider: held, guard: guard(), now: () => now });
    const guesses = [0, 1, 2, 3].map((i) => codeOf(attacker.open(blob, wid('w-1'), uid('u-1'), pin(`00000${i}`))));
    for (let i = 0; i < 100 && (await stateOf(guard(), wid('w-1'), now)).inFlight < 4; i++) await new Promise((r) => setTimeout(r, 20));
    now += GUESS_TTL_MS + 1;
    // …the user signs: the expired guesses are failures before it, and its clear removes them…
    const right = await new Sealer({ provider: kms, guard: guard(), now: () => now }).open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    await right.settled;
    right.dispose();
    expect((await stateOf(guard(), wid('w-1'), now)).counted).toBe(0);
    // …then releases the held answers: none of the four reveals anything about its PIN.
    release();
    expect(await Promise.all(guesses)).toEqual(Array(4).fill('GUARD_UNAVAILABLE'));
  }, 60_000);

  test('a right PIN through one enclave clears the failures counted through another (the count returns the item)', async () => {
    const { sealer, another } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const [a, b] = [another(), another()];
    for (let round = 0; round < 6; round++) {
      expect(await codeOf(a.open(blob, wid('w-1'), uid('u-1'), pin('000000')))).toBe('PIN_INVALID');
      const opened = await b.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
      await opened.settled;
      opened.dispose();
    }
  }, 60_000);

  test('a count whose answer was lost and that the client sent again is counted once, without a storm of retries', async () => {
    const { sealer, guard, kms } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    const lossy = guard();
    const real = lossy.admit.bind(lossy);
    let calls = 0;
    lossy.admit = async (...args) => {
      calls++;
      if (calls === 1) await real(...args); // applied, but its answer lost: the client sends it again
      return real(...args);
    };
    const started = performance.now();
    const opened = await new Sealer({ provider: kms, guard: lossy }).open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(calls).toBe(1);
    await opened.settled;
    opened.dispose();
    expect((await stateOf(guard(), wid('w-1'))).counted).toBe(0);
  }, 60_000);

  test('a lock-out seen only in an enclave’s cache is read again before a right PIN is refused', async () => {
    const { sealer, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'));
    for (let i = 0; i < 5; i++) await codeOf(sealer.open(blob, wid('w-1'), uid('u-1'), pin(`00000${i}`)));
    expect(await codeOf(sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817')))).toBe('PIN_LOCKED');
    // The lock-out ends in the guard (a late clear removes the failures); this enclave's cache still says locked.
    const failures = [...(await guard().get(wid('w-1')))!.guesses.keys()];
    await guard().clear(wid('w-1'), failures[0]!, failures.slice(1));
    expect(await codeOf(sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817')))).toBe('OK');
  }, 60_000);
});

describe('key slots: a PIN and a recovery code', () => {
  const code = (n: number): Uint8Array => new Uint8Array(16).fill(n);

  test('a wallet made with a recovery code opens with its PIN or its code; its factors list both', async () => {
    const { sealer } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'), undefined, code(7));
    expect(decodeBlob(blob).slots!.map((sl) => sl.kind)).toEqual([1, 2]);
    for (const opened of [
      await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817')),
      await sealer.openWithRecoveryCode(blob, wid('w-1'), uid('u-1'), code(7)),
    ]) {
      expect([...opened.secret]).toEqual([...seed]);
      await opened.settled;
      opened.dispose();
    }
    const factors = await sealer.listFactors(wid('w-1'), uid('u-1'));
    expect(factors.map((f) => f.kind)).toEqual(['pin', 'recovery-code']);
    expect(factors.every((f) => f.createdAt > 0 && f.lastUsedAt > 0)).toBe(true);
  }, 60_000);

  test('wrong codes have a budget of their own: five lock recovery, the PIN still works; a code of another wallet is wrong', async () => {
    const { sealer, guard } = await setup();
    const blob = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'), undefined, code(7));
    await sealer.sealNew(wid('w-2'), uid('u-1'), seed, pin('493817'), undefined, code(8));
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push(await codeOf(sealer.openWithRecoveryCode(blob, wid('w-1'), uid('u-1'), code(i === 0 ? 8 : 20 + i))));
    expect(codes).toEqual(['RECOVERY_CODE_WRONG', 'RECOVERY_CODE_WRONG', 'RECOVERY_CODE_WRONG', 'RECOVERY_CODE_WRONG', 'RECOVERY_LOCKED', 'RECOVERY_LOCKED']);
    expect(await codeOf(sealer.openWithRecoveryCode(blob, wid('w-1'), uid('u-1'), code(7)))).toBe('RECOVERY_LOCKED');
    expect(await codeOf(sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817')))).toBe('OK');
    expect((await guard().get(wid('w-1')))!.codeGuesses.size).toBe(5);
    // A new code made with the PIN (the user is there) ends the recovery lock-out.
    const opened = await sealer.open(blob, wid('w-1'), uid('u-1'), pin('493817'));
    const next = await opened.setRecoveryCode(code(9));
    opened.dispose();
    expect((await guard().get(wid('w-1')))!.codeGuesses.size).toBe(0);
    expect(await codeOf(sealer.openWithRecoveryCode(next, wid('w-1'), uid('u-1'), code(9)))).toBe('OK');
  }, 60_000);

  test('a reset with the code ends a PIN lock-out; the old PIN, the old code and the pre-reset blob stop working', async () => {
    const { sealer, another } = await setup();
    const before = await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'), undefined, code(7));
    for (let i = 0; i < 5; i++) await codeOf(sealer.open(before, wid('w-1'), uid('u-1'), pin(`00000${i}`)));
    expect(await codeOf(sealer.open(before, wid('w-1'), uid('u-1'), pin('493817')))).toBe('PIN_LOCKED');
    const recovered = await sealer.openWithRecoveryCode(before, wid('w-1'), uid('u-1'), code(7));
    const after = await recovered.resetPin(pin('270394'), code(9));
    recovered.dispose();
    expect(decodeBlob(after).generation).toBe(2);
    const fresh = another(); // another enclave: nothing cached
    expect(await codeOf(fresh.open(after, wid('w-1'), uid('u-1'), pin('270394')))).toBe('OK');
    expect(await codeOf(fresh.open(after, wid('w-1'), uid('u-1'), pin('493817')))).toBe('PIN_INVALID');
    expect(await codeOf(fresh.openWithRecoveryCode(after, wid('w-1'), uid('u-1'), code(7)))).toBe('RECOVERY_CODE_WRONG');
    expect(await codeOf(fresh.openWithRecoveryCode(after, wid('w-1'), uid('u-1'), code(9)))).toBe('OK');
    // The host puts the pre-reset blob back: the guard's current one is opened, so the old PIN is simply wrong.
    expect(await codeOf(fresh.open(before, wid('w-1'), uid('u-1'), pin('493817')))).toBe('PIN_INVALID');
    expect(await codeOf(fresh.open(before, wid('w-1'), uid('u-1'), pin('270394')))).toBe('OK');
  }, 60_000);

  test('a blob from before slots gains them: a code made with the PIN, then both open it', async () => {
    const { sealer, guard, kms } = await setup();
    const v2 = await legacyBlob(kms, 0, 2);
    await guard().create({ walletId: wid('w-1'), owner: uid('u-1'), keyRef: keyRefOf(decodeBlob(v2).kmsCiphertext), version: 1, blob: v2, guesses: new Map() });
    expect(await codeOf(sealer.openWithRecoveryCode(v2, wid('w-1'), uid('u-1'), code(7)))).toBe('FACTOR_NOT_FOUND');
    const opened = await sealer.open(v2, wid('w-1'), uid('u-1'), pin('493817'));
    const next = await opened.setRecoveryCode(code(7));
    opened.dispose();
    expect(decodeBlob(next)).toMatchObject({ version: 4, generation: 2 });
    expect(await codeOf(sealer.open(next, wid('w-1'), uid('u-1'), pin('493817')))).toBe('OK');
    expect(await codeOf(sealer.openWithRecoveryCode(next, wid('w-1'), uid('u-1'), code(7)))).toBe('OK');
  }, 60_000);

  test('the slot list cannot be edited: a slot cut out, moved from another wallet or altered fails to open', async () => {
    const { sealer, guard } = await setup();
    const blob = decodeBlob(await sealer.sealNew(wid('w-1'), uid('u-1'), seed, pin('493817'), undefined, code(7)));
    const other = decodeBlob(await sealer.sealNew(wid('w-2'), uid('u-1'), seed, pin('111333'), undefined, code(8)));
    const edited = [
      { ...blob, slots: [blob.slots![0]!] }, // the recovery slot cut out
      { ...blob, slots: [blob.slots![0]!, { ...other.slots![1]! }] }, // another wallet's recovery slot
      { ...blob, slots: [blob.slots![0]!, { ...blob.slots![1]!, createdAt: blob.slots![1]!.createdAt + 1 }] },
    ];
    let n = 10;
    for (const e of edited) {
      // Even a guard that held the edited blob (the host cannot write it) would not open it.
      const walletId = wid(`w-${++n}`);
      const bytes = encodeBlob({ ...e, walletId });
      await guard().create({ walletId, owner: uid('u-1'), keyRef: keyRefOf(e.kmsCiphertext), version: 1, blob: bytes, guesses: new Map() });
      const results = [
        await codeOf(sealer.open(bytes, walletId, uid('u-1'), pin('493817'))),
        await codeOf(sealer.openWithRecoveryCode(bytes, walletId, uid('u-1'), code(7))),
      ];
      expect(results.every((r) => r !== 'OK')).toBe(true);
    }
  }, 60_000);
});

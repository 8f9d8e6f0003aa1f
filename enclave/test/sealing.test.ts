/**
 * Sealing: the blob opens only with the right PIN, the right wallet and owner,
 * and an untouched header; failures are counted in the blob and in memory;
 * five in a row lock with growing back-off. The data-key provider here is a
 * stand-in for KMS (this is a unit test of the sealing module alone).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { argon2id as nobleArgon2id } from '@noble/hashes/argon2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { decodeBlob } from '../src/sealing/blob.js';
import { ARGON2_POLICY, stretchPin } from '../src/sealing/kdf.js';
import { AttemptTracker, lockoutMs, Sealer, type DataKeyProvider } from '../src/sealing/seal.js';

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
const seed = Uint8Array.from({ length: 64 }, (_, i) => i);

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'OK',
    (e: unknown) => (e instanceof EnclaveWalletError ? e.code : `UNTYPED ${String(e)}`),
  );
}

describe('Argon2id', () => {
  test('RFC 9106 §5.3 vector (noble, the reference we compare against)', () => {
    const tag = nobleArgon2id(new Uint8Array(32).fill(1), new Uint8Array(16).fill(2), { t: 3, m: 32, p: 4, key: new Uint8Array(8).fill(3), personalization: new Uint8Array(12).fill(4), dkLen: 32 });
    expect(Buffer.from(tag).toString('hex')).toBe('0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });

  test('the enclave’s WASM Argon2id agrees with noble', async () => {
    for (const [p, salt] of [['493817', 'a'.repeat(16)], ['000000000000', 'b'.repeat(16)]] as const) {
      const ours = await stretchPin(pin(p), pin(salt), { memoryKiB: 64, iterations: 2, parallelism: 1 });
      const theirs = nobleArgon2id(pin(p), pin(salt), { t: 2, m: 64, p: 1, dkLen: 32 });
      expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
    }
  });

  test('the compiled cost is at least 19 MiB and t=2', () => {
    expect(ARGON2_POLICY.memoryKiB).toBeGreaterThanOrEqual(19 * 1024);
    expect(ARGON2_POLICY.iterations).toBeGreaterThanOrEqual(2);
  });
});

describe('Sealer', () => {
  test('seal then open with the right PIN gives the seed back; every re-seal has fresh salt and nonce', async () => {
    const sealer = new Sealer({ provider: fakeKms() });
    const blob = await sealer.sealNew('w-1', 'u-1', seed, pin('493817'));
    const opened = await sealer.open(blob, 'w-1', 'u-1', pin('493817'));
    expect([...opened.secret]).toEqual([...seed]);
    const again = await opened.reseal(pin('493817'));
    const [a, b] = [decodeBlob(blob), decodeBlob(again)];
    expect(Buffer.from(a.argon2.salt).equals(Buffer.from(b.argon2.salt))).toBe(false);
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false);
    expect(Buffer.from(a.kmsCiphertext).equals(Buffer.from(b.kmsCiphertext))).toBe(true);
    opened.dispose();
    expect(opened.secret.every((x) => x === 0)).toBe(true);
    const reopened = await sealer.open(again, 'w-1', 'u-1', pin('493817'));
    expect([...reopened.secret]).toEqual([...seed]);
  });

  test('the blob does not contain the seed or the PIN in clear', async () => {
    const sealer = new Sealer({ provider: fakeKms() });
    const blob = Buffer.from(await sealer.sealNew('w-1', 'u-1', seed, pin('493817')));
    expect(blob.includes(Buffer.from(seed.subarray(0, 16)))).toBe(false);
    expect(blob.includes(Buffer.from('493817'))).toBe(false);
  });

  test('another wallet id or owner is BLOB_MISMATCH', async () => {
    const sealer = new Sealer({ provider: fakeKms() });
    const blob = await sealer.sealNew('w-1', 'u-1', seed, pin('493817'));
    expect(await codeOf(sealer.open(blob, 'w-2', 'u-1', pin('493817')))).toBe('BLOB_MISMATCH');
    expect(await codeOf(sealer.open(blob, 'w-1', 'u-2', pin('493817')))).toBe('BLOB_MISMATCH');
  });

  test('changing any byte of the sealed part makes the blob refuse to open', async () => {
    const sealer = new Sealer({ provider: fakeKms() });
    const blob = await sealer.sealNew('w-1', 'u-1', seed, pin('493817'));
    const sealedLength = decodeBlob(blob).sealedPart.length;
    const seen = new Set<string>();
    // Every byte of the header and a sample of the ciphertext; each costs an Argon2id run when it reaches the AEAD.
    const positions = [...Array(sealedLength).keys()].filter((i) => i < sealedLength - 80 || i % 16 === 0);
    for (const i of positions) {
      const copy = Uint8Array.from(blob);
      copy[i]! ^= 0x01;
      const code = await codeOf(new Sealer({ provider: sealer['provider'], attempts: new AttemptTracker() }).open(copy, 'w-1', 'u-1', pin('493817')));
      if (code === 'OK' || code.startsWith('UNTYPED')) throw new Error(`byte ${i}: ${code}`);
      seen.add(code);
    }
    expect([...seen].every((c) => ['BLOB_INVALID', 'BLOB_MISMATCH', 'PIN_INVALID'].includes(c))).toBe(true);
  }, 120_000);

  test('wrong PINs are counted in the returned blob; five lock with growing back-off', async () => {
    let now = 1_000_000;
    const sealer = new Sealer({ provider: fakeKms(), now: () => now });
    let blob = await sealer.sealNew('w-1', 'u-1', seed, pin('493817'));
    for (let i = 1; i <= 4; i++) {
      const err = (await sealer.open(blob, 'w-1', 'u-1', pin('000000')).catch((e: unknown) => e)) as EnclaveWalletError;
      expect(err.code).toBe('PIN_INVALID');
      expect(err.details.attemptsLeft).toBe(5 - i);
      blob = err.sealedBlob!;
      expect(decodeBlob(blob).state.failedAttempts).toBe(i);
    }
    const fifth = (await sealer.open(blob, 'w-1', 'u-1', pin('000000')).catch((e: unknown) => e)) as EnclaveWalletError;
    expect(fifth.code).toBe('PIN_LOCKED');
    expect(fifth.details.retryAfter).toBe(60);
    blob = fifth.sealedBlob!;
    // Even the right PIN is not tried while locked.
    expect(await codeOf(sealer.open(blob, 'w-1', 'u-1', pin('493817')))).toBe('PIN_LOCKED');
    now += 61_000;
    const sixth = (await sealer.open(blob, 'w-1', 'u-1', pin('000000')).catch((e: unknown) => e)) as EnclaveWalletError;
    expect(sixth.code).toBe('PIN_LOCKED');
    expect(sixth.details.retryAfter).toBe(120);
    now += 121_000;
    const opened = await sealer.open(sixth.sealedBlob!, 'w-1', 'u-1', pin('493817'));
    const fresh = await opened.reseal(pin('493817'));
    expect(decodeBlob(fresh).state).toEqual({ failedAttempts: 0, lockedUntilMs: 0 });
    expect(lockoutMs(4)).toBe(0);
    expect(lockoutMs(40)).toBe(24 * 3600_000);
  }, 60_000);

  test('replaying an older blob gives no fresh attempts while the enclave runs', async () => {
    const sealer = new Sealer({ provider: fakeKms() });
    const original = await sealer.sealNew('w-1', 'u-1', seed, pin('493817'));
    let blob = original;
    for (let i = 0; i < 3; i++) blob = ((await sealer.open(blob, 'w-1', 'u-1', pin('000000')).catch((e: unknown) => e)) as EnclaveWalletError).sealedBlob!;
    // The host sends the original blob (0 failures) again: the enclave remembers 3.
    const err = (await sealer.open(original, 'w-1', 'u-1', pin('000000')).catch((e: unknown) => e)) as EnclaveWalletError;
    expect(err.details.attemptsLeft).toBe(1);
  }, 60_000);

  test('a host that resets the counter in the blob is caught by the state MAC', async () => {
    const sealer = new Sealer({ provider: fakeKms() });
    const blob = await sealer.sealNew('w-1', 'u-1', seed, pin('493817'));
    const failed = ((await sealer.open(blob, 'w-1', 'u-1', pin('000000')).catch((e: unknown) => e)) as EnclaveWalletError).sealedBlob!;
    const forged = Uint8Array.from(failed);
    const at = decodeBlob(failed).sealedPart.length + 3; // low byte of failedAttempts
    forged[at] = 0;
    expect(await codeOf(new Sealer({ provider: sealer['provider'] }).open(forged, 'w-1', 'u-1', pin('493817')))).toBe('BLOB_INVALID');
  }, 60_000);

  test('garbage is BLOB_INVALID', async () => {
    const sealer = new Sealer({ provider: fakeKms() });
    for (const bytes of [new Uint8Array(0), new TextEncoder().encode('EWSB'), new Uint8Array(100).fill(7), new Uint8Array(20000)]) {
      expect(await codeOf(sealer.open(bytes, 'w-1', 'u-1', pin('493817')))).toBe('BLOB_INVALID');
    }
  });
});

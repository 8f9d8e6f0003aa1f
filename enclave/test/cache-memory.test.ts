/**
 * The enclave's caches of per-wallet state, each full at its bound, take the memory docs/performance.md gives them
 * (twenty-third look): guard records (the wallet's blob and budgets, GUARD_RECORD_CACHE), the public results of
 * key derivation, and the KMS data keys. Each is filled with entries of the sizes a real wallet gives (a 660-byte
 * blob, the five derivations of a new wallet's three accounts, a KMS ciphertext of 184 bytes) and measured by the
 * heap and the array buffers after collections. The replay cache's own test is in envelope.test.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BoundedCache } from '../src/cache.js';
import type { GuardRecord } from '../src/guard/guard.js';
import { recordFromItem } from '../src/guard/item.js';
import { PublicDerivationCache } from '../src/keys/derivation-cache.js';
import { DataKeyCache } from '../src/kms/data-key-cache.js';
import { GUARD_RECORD_CACHE } from '../src/sealing/seal.js';
import type { WalletId } from '@enclave-wallet/proto/ids';

const MiB = 2 ** 20;
setFlagsFromString('--expose-gc');
const vmGc = runInNewContext('gc') as () => void;

/** The heap and the array buffers in use, after collections (dead buffers' memory is given back after a turn). */
async function inUse(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    vmGc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** What `fill` keeps, in bytes: the memory in use after it, less before it. */
async function kept(fill: () => unknown): Promise<{ bytes: number; held: unknown }> {
  const before = await inUse();
  const held = fill();
  return { bytes: (await inUse()) - before, held };
}

test('a full cache of guard records: each about 2 KB, the whole under 8.5 MiB', async () => {
  const { bytes, held } = await kept(() => {
    const records = new BoundedCache<WalletId, GuardRecord>(GUARD_RECORD_CACHE);
    for (let i = 0; i < GUARD_RECORD_CACHE.maxEntries + 100; i++) {
      const walletId = randomUUID() as WalletId;
      const item = {
        pk: { S: `wallet#${walletId}` },
        owner: { S: `usr_${randomBytes(16).toString('hex')}` },
        keyRef: { S: randomBytes(32).toString('hex') },
        version: { N: '1' },
        blob: { B: Uint8Array.from(randomBytes(660)) },
        guesses: { M: {} },
        codeGuesses: { M: {} },
        passkeyGuesses: { M: {} },
        rev: { S: randomBytes(8).toString('hex') },
        updatedAt: { N: String(Date.now()) },
        'used:pin': { N: String(Date.now()) },
      };
      records.set(walletId, recordFromItem(walletId, item));
    }
    return records;
  });
  expect((held as BoundedCache<WalletId, GuardRecord>).size).toBe(GUARD_RECORD_CACHE.maxEntries);
  expect(bytes).toBeGreaterThan(GUARD_RECORD_CACHE.maxEntries * 660); // the blobs at least: the cache is measured
  expect(bytes).toBeLessThan(8.5 * MiB);
});

test('a full cache of derivations (8,192: the public keys and addresses of about 1,600 wallets) under 3.5 MiB', async () => {
  const { bytes, held } = await kept(() => {
    const cache = new PublicDerivationCache(8192);
    for (let i = 0; i < 8192 / 5 + 10; i++) {
      const tag = cache.tagOf(randomBytes(64));
      cache.remember(tag, "public m/44'/60'/0'/0", () => Uint8Array.from(randomBytes(33)));
      cache.remember(tag, "address m/44'/60'/0'/0/0", () => `0x${randomBytes(20).toString('hex')}`);
      cache.remember(tag, "public m/84'/0'/0'/0", () => Uint8Array.from(randomBytes(33)));
      cache.remember(tag, "address m/84'/0'/0'/0/0", () => `bc1q${randomBytes(19).toString('hex')}`);
      cache.remember(tag, "address m/44'/501'/0'/0'", () => randomBytes(32).toString('base64'));
    }
    return cache;
  });
  expect((held as PublicDerivationCache).size).toBe(8192);
  expect(bytes).toBeGreaterThan(8192 * 60);
  expect(bytes).toBeLessThan(3.5 * MiB);
});

test('a full cache of data keys (4,096) under 6.5 MiB', async () => {
  const { bytes, held } = await kept(() => {
    const cache = new DataKeyCache(4096);
    for (let i = 0; i < 4096; i++) {
      const key = randomBytes(32);
      cache.put(randomBytes(184), { walletId: randomUUID(), userId: `usr_${randomBytes(16).toString('hex')}` }, key);
      key.fill(0);
    }
    return cache;
  });
  const cache = held as DataKeyCache;
  expect(cache.size).toBe(4096);
  expect(bytes).toBeGreaterThan(4096 * 32);
  expect(bytes).toBeLessThan(6.5 * MiB);
  cache.clear();
});

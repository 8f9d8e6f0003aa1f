/**
 * PIN stretching and key separation. The Argon2id cost is compiled into the
 * image (the host cannot lower it): blobs written with other costs are read
 * only within fixed bounds, and every re-seal uses the compiled cost.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { argon2id } from 'hash-wasm';

/** The cost every new seal uses (OWASP's Argon2id minimum: 19 MiB, t=2, p=1). */
export const ARGON2_POLICY = Object.freeze({ memoryKiB: 19 * 1024, iterations: 2, parallelism: 1 });
/** Costs accepted when reading a blob: never below the policy, never absurdly high (denial of service). */
export const ARGON2_BOUNDS = Object.freeze({
  min: ARGON2_POLICY,
  max: Object.freeze({ memoryKiB: 256 * 1024, iterations: 10, parallelism: 4 }),
});
export const ARGON2_SALT_BYTES = 16;

/** HKDF `info` of the key that encrypts the seed (from the KMS data key and the stretched PIN). */
export const SEED_KEY_INFO = new TextEncoder().encode('enclave-wallet/seed-key/v1');
/** HKDF `info` of the key that authenticates the failed-attempt state (from the KMS data key alone). */
export const STATE_KEY_INFO = new TextEncoder().encode('enclave-wallet/attempt-state/v1');

export interface Argon2Cost {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export function withinBounds(cost: Argon2Cost): boolean {
  const { min, max } = ARGON2_BOUNDS;
  return (
    cost.memoryKiB >= min.memoryKiB &&
    cost.memoryKiB <= max.memoryKiB &&
    cost.iterations >= min.iterations &&
    cost.iterations <= max.iterations &&
    cost.parallelism >= min.parallelism &&
    cost.parallelism <= max.parallelism
  );
}

/** Argon2id(PIN, salt) → 32 bytes. The caller zeroes the result. */
export async function stretchPin(pin: Uint8Array, salt: Uint8Array, cost: Argon2Cost): Promise<Uint8Array> {
  return argon2id({
    password: pin,
    salt,
    parallelism: cost.parallelism,
    iterations: cost.iterations,
    memorySize: cost.memoryKiB,
    hashLength: 32,
    outputType: 'binary',
  });
}

/** The seed-encryption key: HKDF-SHA256 over the data key and the stretched PIN. */
export function seedKey(dataKey: Uint8Array, stretchedPin: Uint8Array, salt: Uint8Array): Uint8Array {
  const ikm = new Uint8Array(dataKey.length + stretchedPin.length);
  ikm.set(dataKey, 0);
  ikm.set(stretchedPin, dataKey.length);
  try {
    return hkdf(sha256, ikm, salt, SEED_KEY_INFO, 32);
  } finally {
    ikm.fill(0);
  }
}

/** The attempt-state MAC key, which needs no PIN so that failures can be recorded. */
export function stateKey(dataKey: Uint8Array): Uint8Array {
  return hkdf(sha256, dataKey, new Uint8Array(0), STATE_KEY_INFO, 32);
}

/**
 * The entropy of a new wallet, never one party's choice. KMS `GenerateRandom`
 * (with `Recipient`) is the source SPEC §4 names, but its answer is not
 * signed: a parent that could relay to a KMS of its choosing could set it.
 * So it is combined with the NSM's own random bytes (the Nitro hypervisor's
 * source) and this process's CSPRNG through HKDF-SHA256: as long as any one
 * of the three is secret and random, so is the wallet.
 */
import { getRandomValues, hkdfSync } from 'node:crypto';
import { SecretBytes } from '../secret.js';

export const ENTROPY_INFO = new TextEncoder().encode('enclave-wallet/wallet-entropy/v1');

export interface EntropySources {
  /** KMS GenerateRandom with Recipient. */
  kms(length: number): Promise<Uint8Array>;
  /** The platform's own source (NSM GetRandom). */
  platform(length: number): Uint8Array;
  /** This process's CSPRNG (default: crypto.getRandomValues, into memory of its own). */
  local?(length: number): Uint8Array;
}

const localRandom = (length: number): SecretBytes => getRandomValues(SecretBytes.alloc(length));

/**
 * `length` bytes of wallet entropy: HKDF-SHA256 (no salt, info ENTROPY_INFO) of the three sources' 32 bytes each,
 * natively (node:crypto), into memory of its own. The inputs are zeroed; the caller disposes the result.
 */
export async function walletEntropy(sources: EntropySources, length: number): Promise<SecretBytes> {
  using ikm = SecretBytes.alloc(96);
  const take = (bytes: Uint8Array, at: number): void => {
    try {
      ikm.set(bytes, at);
    } finally {
      bytes.fill(0);
    }
  };
  take(await sources.kms(32), 0);
  take(sources.platform(32), 32);
  take((sources.local ?? localRandom)(32), 64);
  // An empty salt is HKDF's default (HashLen zeros: the same HMAC key). The output is an ArrayBuffer of its own.
  return new SecretBytes(hkdfSync('sha256', ikm, new Uint8Array(0), ENTROPY_INFO, length));
}

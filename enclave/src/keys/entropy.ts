/**
 * The entropy of a new wallet, never one party's choice. KMS `GenerateRandom`
 * (with `Recipient`) is the source SPEC §4 names, but its answer is not
 * signed: a parent that could relay to a KMS of its choosing could set it.
 * So it is combined with the NSM's own random bytes (the Nitro hypervisor's
 * source) and this process's CSPRNG through HKDF-SHA256: as long as any one
 * of the three is secret and random, so is the wallet.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';

export const ENTROPY_INFO = new TextEncoder().encode('enclave-wallet/wallet-entropy/v1');

export interface EntropySources {
  /** KMS GenerateRandom with Recipient. */
  kms(length: number): Promise<Uint8Array>;
  /** The platform's own source (NSM GetRandom). */
  platform(length: number): Uint8Array;
  /** This process's CSPRNG (default: crypto.getRandomValues). */
  local?(length: number): Uint8Array;
}

/** `length` bytes of wallet entropy. The inputs are zeroed; the caller zeroes the result. */
export async function walletEntropy(sources: EntropySources, length: number): Promise<Uint8Array> {
  const fromKms = await sources.kms(32);
  const fromPlatform = sources.platform(32);
  const fromLocal = (sources.local ?? randomBytes)(32);
  const ikm = new Uint8Array(96);
  ikm.set(fromKms, 0);
  ikm.set(fromPlatform, 32);
  ikm.set(fromLocal, 64);
  try {
    return hkdf(sha256, ikm, undefined, ENTROPY_INFO, length);
  } finally {
    for (const b of [ikm, fromKms, fromPlatform, fromLocal]) b.fill(0);
  }
}

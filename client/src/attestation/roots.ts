/**
 * The attestation verifier's trust anchor (docs/attestation.md): the AWS Nitro root G1, a pinned DER root
 * certificate, or a root pinned by its SHA-256 fingerprint, and how each is normalised before a check.
 * Runs in browsers and Node (no Node built-ins).
 */
import { toHex } from '../proto-copy/bytes.js';
import { sha256 } from '@noble/hashes/sha2.js';

/** SHA-256 fingerprint of the AWS Nitro Enclaves root certificate (G1). */
export const AWS_NITRO_ROOT_G1_SHA256 = '641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b';

/**
 * The trust anchor: 'aws' pins the AWS Nitro root G1 by fingerprint; bytes pin that exact DER certificate;
 * `{ sha256 }` pins the root certificate whose SHA-256 (of its DER) is that hex fingerprint: the chain's first
 * certificate, which the document carries, must hash to it. The fingerprint form is how an app outside this
 * repository pins the local stack's dev root: `npm start` prints it (docs/attestation.md). A root, in any form, is
 * the app's own constant: the SDK never takes one from the host it checks (see client/README.md).
 * The AWS root given as bytes or by its fingerprint is 'aws', with its rules (see `trustedRoot`).
 */
export type TrustedRoot = 'aws' | Uint8Array | RootFingerprint;

/** A root pinned by the SHA-256 of its DER certificate: 64 hex digits (colons allowed, as `openssl x509 -fingerprint` prints). */
export interface RootFingerprint {
  sha256: string;
}

/** The lowercase 64-digit hex of a fingerprint. @throws {TypeError} when it is not 32 bytes of hex */
function fingerprintHex(root: RootFingerprint): string {
  const hex = typeof root.sha256 === 'string' ? root.sha256.replace(/:/g, '').toLowerCase() : '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError('root { sha256 } must be the SHA-256 of the root certificate: 64 hex digits');
  return hex;
}

/** Whether `root` is the AWS Nitro root G1: 'aws', or DER bytes or a fingerprint that are its fingerprint. */
export function isAwsNitroRoot(root: TrustedRoot): boolean {
  if (root === 'aws') return true;
  return (root instanceof Uint8Array ? toHex(sha256(root)) : fingerprintHex(root)) === AWS_NITRO_ROOT_G1_SHA256;
}

/**
 * The root as the verifier treats it: the AWS Nitro root G1 given as bytes or by its fingerprint is 'aws', so that
 * it gets exactly the AWS rules (the production policy by default, PCR0 required by the SDK) and cannot switch them
 * off. A fingerprint comes back normalised (lowercase, no colons).
 * @throws {TypeError} for a fingerprint that is not 64 hex digits
 */
export function trustedRoot(root: TrustedRoot): TrustedRoot {
  if (root === 'aws' || isAwsNitroRoot(root)) return 'aws';
  return root instanceof Uint8Array ? root : { sha256: fingerprintHex(root) };
}

/**
 * The platform seam: what the enclave needs from the Nitro Secure Module.
 * Two implementations: `nitro` (the real device) and `simulated` (a
 * development stand-in that issues documents in exactly the real format).
 */

/** Where the enclave runs. */
export type PlatformMode = 'nitro' | 'simulated';

/** What goes into an attestation document besides the measurements. */
export interface AttestationRequest {
  /** Bound into the document as `public_key` (at most 1024 bytes). */
  publicKey?: Uint8Array;
  /** `user_data` (at most 512 bytes). */
  userData?: Uint8Array;
  /** `nonce` (at most 512 bytes). */
  nonce?: Uint8Array;
}

export interface Platform {
  readonly mode: PlatformMode;
  /** PCR index → value (48 bytes each). */
  pcrs(): Map<number, Uint8Array>;
  /** A COSE_Sign1 attestation document. */
  attest(request: AttestationRequest): Uint8Array;
  /** `length` random bytes from the platform's own source (the NSM's GetRandom on Nitro). */
  random(length: number): Uint8Array;
}

/** The platform cannot be used (wrong environment, missing device or addon). */
export class PlatformError extends Error {
  override readonly name = 'PlatformError';
}

/** Size limits of the NSM API (aws-nitro-enclaves-nsm-api). */
export const NSM_LIMITS = { publicKey: 1024, userData: 512, nonce: 512 } as const;

export function checkAttestationRequest(req: AttestationRequest): void {
  for (const [field, max] of Object.entries(NSM_LIMITS) as Array<[keyof AttestationRequest, number]>) {
    const v = req[field];
    if (v !== undefined && v.length > max) throw new RangeError(`${field} is ${v.length} bytes; the NSM accepts at most ${max}`);
  }
}

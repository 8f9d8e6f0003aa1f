/**
 * What the enclave binds into its attestation documents' `user_data`: the
 * PIN-stretching (KDF) parameters it enforces, so that a client reads them
 * from the signed document rather than from the host's JSON. The enclave
 * writes UTF-8 JSON `{"v":1,"kdf":{"algorithm","memoryKiB","iterations","parallelism"}}`
 * (docs/attestation.md#user-data). Runs in browsers and Node.
 */
import { AttestationError, type AttestationDocument } from './verify.js';

/** The KDF parameters an enclave attests to. */
export interface AttestedKdf {
  algorithm: string;
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

const positiveInteger = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;

/**
 * The KDF parameters in a verified document's `user_data`.
 *
 * @throws {AttestationError} MALFORMED when the document carries none, or not in the enclave's format
 */
export function attestedKdf(document: Pick<AttestationDocument, 'userData'>): AttestedKdf {
  if (!document.userData) throw new AttestationError('MALFORMED', 'the document binds no KDF parameters (user_data is absent)');
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(document.userData));
  } catch {
    throw new AttestationError('MALFORMED', 'user_data is not the enclave’s JSON');
  }
  const { v, kdf } = (typeof data === 'object' && data !== null ? data : {}) as { v?: unknown; kdf?: Record<string, unknown> | null };
  if (v !== 1 || typeof kdf !== 'object' || kdf === null) throw new AttestationError('MALFORMED', 'user_data does not hold version 1 KDF parameters');
  const { algorithm, memoryKiB, iterations, parallelism } = kdf;
  if (typeof algorithm !== 'string' || !algorithm || !positiveInteger(memoryKiB) || !positiveInteger(iterations) || !positiveInteger(parallelism))
    throw new AttestationError('MALFORMED', 'user_data’s KDF parameters are incomplete');
  return { algorithm, memoryKiB, iterations, parallelism };
}

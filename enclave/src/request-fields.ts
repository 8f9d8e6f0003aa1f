/** Reading a request's fields, the same way in every operation: required strings, required bytes, hex. */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { toHex0x } from '@enclave-wallet/proto/bytes';

/** 0x-prefixed lowercase hex. */
export const hex0x = toHex0x;

/** A required string field of at most 256 characters. @throws VALIDATION_FAILED */
export function required(value: string | null | undefined, field: string): string {
  if (!value) throw new EnclaveWalletError('VALIDATION_FAILED', `${field} is required`);
  if (value.length > 256) throw new EnclaveWalletError('VALIDATION_FAILED', `${field} is too long`);
  return value;
}

/** A required, non-empty bytes field. @throws VALIDATION_FAILED */
export function bytesOf(value: Uint8Array | null | undefined, field: string): Uint8Array {
  if (!value || value.length === 0) throw new EnclaveWalletError('VALIDATION_FAILED', `${field} is required`);
  return value;
}

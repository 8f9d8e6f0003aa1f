/** A wallet's data key: where it comes from, what KMS binds it to, and how the guard names it. */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '@enclave-wallet/proto/bytes';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';

/** Encryption context binding a data key to its wallet and owner (KMS enforces it on Decrypt). */
export function encryptionContext(walletId: WalletId, userId: UserId): Record<string, string> {
  return { 'enclave-wallet:wallet-id': walletId, 'enclave-wallet:user-id': userId };
}

/** The identity of a wallet's data key: hex SHA-256 of its KMS CiphertextBlob. */
export const keyRefOf = (kmsCiphertext: Uint8Array): string => toHex(sha256(kmsCiphertext));

/** Where data keys come from: KMS with attestation (see kms/). */
export interface DataKeyProvider {
  generateDataKey(context: Record<string, string>): Promise<{ plaintext: Uint8Array; ciphertextBlob: Uint8Array; keyId: string }>;
  /** Always under the configured key: a blob naming another key is refused by KMS. */
  decryptDataKey(ciphertextBlob: Uint8Array, context: Record<string, string>): Promise<Uint8Array>;
}

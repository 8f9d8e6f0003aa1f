/**
 * Solana: a signer for one wallet's Solana account whose signatures come from
 * the enclave, usable directly (wire transactions, messages) and as a
 * @solana/kit TransactionPartialSigner / MessagePartialSigner without a cast
 * (structurally: this package does not depend on @solana/kit).
 */
import type { EnclaveWalletClient } from './client.js';
import { unsignedWire } from './solana-wire.js';
import { approval, type Approver } from './evm.js';

/**
 * A base58 Solana address, typed as @solana/kit's `Address` (kit 8 brands its types with plain properties that exist
 * only in the types, `__brand:@solana/kit` and `__stringEncoding:@solana/kit`; the same shape here makes a signer
 * assignable to kit's signer types with no dependency on kit). At run time it is a plain string.
 */
export type SolanaAddress = string & { readonly '__brand:@solana/kit': 'Address' } & { readonly '__stringEncoding:@solana/kit': 'base58' };
/** A 64-byte Ed25519 signature, typed as @solana/kit's `SignatureBytes` (see SolanaAddress). A plain Uint8Array at run time. */
export type SolanaSignatureBytes = Uint8Array & { readonly '__brand:@solana/kit': 'SignatureBytes' };
/** One signer's signature by its address, typed as @solana/kit's `SignatureDictionary`. */
export type SolanaSignatureDictionary = Readonly<Record<SolanaAddress, SolanaSignatureBytes>>;

export interface SolanaSigner {
  /** The account's base58 address (a string; typed as @solana/kit's `Address`). */
  readonly address: SolanaAddress;
  /** Signs a wire transaction (legacy or v0); returns the signed wire transaction. */
  signTransaction(wireTransaction: Uint8Array): Promise<Uint8Array>;
  /** Signs raw bytes that are not a transaction message (those are MESSAGE_IS_TRANSACTION); returns the 64-byte signature. */
  signMessage(message: Uint8Array): Promise<Uint8Array>;
  /**
   * Signs `text` as an off-chain message (`\xffsolana offchain` signing domain, version 1 unless `version: 0`);
   * returns the signature and the bytes it signs.
   */
  signOffchainMessage(text: string, options?: { version?: 0 | 1; applicationDomain?: string }): Promise<{ signature: Uint8Array; signedMessage: Uint8Array }>;
  /** @solana/kit TransactionPartialSigner: one { address: signature } per transaction. */
  signTransactions(transactions: ReadonlyArray<{ readonly messageBytes: ArrayLike<number> }>): Promise<ReadonlyArray<SolanaSignatureDictionary>>;
  /** @solana/kit MessagePartialSigner: one { address: signature } per message. */
  signMessages(messages: ReadonlyArray<{ readonly content: ArrayLike<number> }>): Promise<ReadonlyArray<SolanaSignatureDictionary>>;
}

/** `{ [address]: signature }`, frozen. */
const dictionary = (address: SolanaAddress, signature: Uint8Array): SolanaSignatureDictionary =>
  Object.freeze({ [address]: signature as SolanaSignatureBytes }) as SolanaSignatureDictionary;

export async function solanaSigner(client: EnclaveWalletClient, walletId: string, options: Approver & { address?: string }): Promise<SolanaSigner> {
  const address = (await client.accountAddress(walletId, 'solana', options.address)) as SolanaAddress;
  const ask = approval(options);
  const signer: SolanaSigner = {
    address,
    async signTransaction(wire) {
      return (await client.signSolanaTransaction(walletId, wire, { ...ask, address })).signedTransaction;
    },
    async signMessage(message) {
      // A transaction message is refused (MESSAGE_IS_TRANSACTION) before the user is asked for a PIN.
      return client.signSolanaMessage(walletId, message, { ...ask, address });
    },
    async signOffchainMessage(text, o = {}) {
      return client.signSolanaOffchainMessage(walletId, text, { ...o, ...ask, address });
    },
    async signTransactions(transactions) {
      const out: SolanaSignatureDictionary[] = [];
      for (const tx of transactions) {
        const { signature } = await client.signSolanaTransaction(walletId, unsignedWire(Uint8Array.from(tx.messageBytes)), { ...ask, address });
        out.push(dictionary(address, signature));
      }
      return Object.freeze(out);
    },
    async signMessages(messages) {
      const out: SolanaSignatureDictionary[] = [];
      for (const m of messages) out.push(dictionary(address, await signer.signMessage(Uint8Array.from(m.content))));
      return Object.freeze(out);
    },
  };
  return Object.freeze(signer);
}

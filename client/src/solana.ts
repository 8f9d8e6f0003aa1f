/**
 * Solana: a signer for one wallet's Solana account whose signatures come from
 * the enclave, usable directly (wire transactions, messages) and as a
 * @solana/kit TransactionPartialSigner / MessagePartialSigner (structurally:
 * this package does not depend on @solana/kit).
 */
import type { EnclaveWalletClient } from './client.js';
import { unsignedWire } from './solana-wire.js';
import { approval, type Approver } from './evm.js';

export interface SolanaSigner {
  /** The account's base58 address. */
  readonly address: string;
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
  signTransactions(transactions: ReadonlyArray<{ messageBytes: Uint8Array }>): Promise<ReadonlyArray<Readonly<Record<string, Uint8Array>>>>;
  /** @solana/kit MessagePartialSigner: one { address: signature } per message. */
  signMessages(messages: ReadonlyArray<{ content: Uint8Array }>): Promise<ReadonlyArray<Readonly<Record<string, Uint8Array>>>>;
}

export async function solanaSigner(client: EnclaveWalletClient, walletId: string, options: Approver & { address?: string }): Promise<SolanaSigner> {
  const address = await client.accountAddress(walletId, 'solana', options.address);
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
      const out: Array<Record<string, Uint8Array>> = [];
      for (const tx of transactions) {
        const { signature } = await client.signSolanaTransaction(walletId, unsignedWire(tx.messageBytes), { ...ask, address });
        out.push(Object.freeze({ [address]: signature }));
      }
      return Object.freeze(out);
    },
    async signMessages(messages) {
      const out: Array<Record<string, Uint8Array>> = [];
      for (const m of messages) out.push(Object.freeze({ [address]: await signer.signMessage(m.content) }));
      return Object.freeze(out);
    },
  };
  return Object.freeze(signer);
}

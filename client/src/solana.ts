/**
 * Solana: a signer for one wallet's Solana account whose signatures come from
 * the enclave, usable directly (wire transactions, messages) and as a
 * @solana/kit TransactionPartialSigner / MessagePartialSigner (structurally:
 * this package does not depend on @solana/kit).
 */
import type { EnclaveWalletClient } from './client.js';
import type { GetPin } from './evm.js';
import { isSolanaTransactionMessage, unsignedWire } from './solana-wire.js';

export interface SolanaSigner {
  /** The account's base58 address. */
  readonly address: string;
  /** Signs a wire transaction (legacy or v0); returns the signed wire transaction. */
  signTransaction(wireTransaction: Uint8Array): Promise<Uint8Array>;
  /** Signs raw bytes; returns the 64-byte signature. */
  signMessage(message: Uint8Array): Promise<Uint8Array>;
  /** @solana/kit TransactionPartialSigner: one { address: signature } per transaction. */
  signTransactions(transactions: ReadonlyArray<{ messageBytes: Uint8Array }>): Promise<ReadonlyArray<Readonly<Record<string, Uint8Array>>>>;
  /** @solana/kit MessagePartialSigner: one { address: signature } per message. */
  signMessages(messages: ReadonlyArray<{ content: Uint8Array }>): Promise<ReadonlyArray<Readonly<Record<string, Uint8Array>>>>;
}

export async function solanaSigner(client: EnclaveWalletClient, walletId: string, options: { getPin: GetPin; address?: string }): Promise<SolanaSigner> {
  const address = await client.accountAddress(walletId, 'solana', options.address);
  const pin = async (kind: 'solana-transaction' | 'solana-message'): Promise<string> => options.getPin({ walletId, kind, address });
  const signer: SolanaSigner = {
    address,
    async signTransaction(wire) {
      return (await client.signSolanaTransaction(walletId, wire, { pin: await pin('solana-transaction'), address })).signedTransaction;
    },
    async signMessage(message) {
      // A transaction message is refused before the user is asked for a PIN.
      if (isSolanaTransactionMessage(message)) return client.signSolanaMessage(walletId, message, { pin: '', address });
      return client.signSolanaMessage(walletId, message, { pin: await pin('solana-message'), address });
    },
    async signTransactions(transactions) {
      const out: Array<Record<string, Uint8Array>> = [];
      for (const tx of transactions) {
        const { signature } = await client.signSolanaTransaction(walletId, unsignedWire(tx.messageBytes), { pin: await pin('solana-transaction'), address });
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

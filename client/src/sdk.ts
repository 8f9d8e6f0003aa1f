/**
 * The client apps use: the core client plus its viem and Solana adapters as
 * methods (SPEC §9).
 */
import type { Address, Hex, LocalAccount, TransactionSerializable, TypedDataDefinition } from 'viem';
import { EnclaveWalletClient, type ClientOptions, type SignOptions } from './client.js';
import { sendEvmTransaction, signEvmTransaction, signTypedData, toViemAccount, type Approver, type EvmLimits } from './evm.js';
import { toEip1193Provider, type Eip1193Provider } from './eip1193.js';
import { solanaSigner, type SolanaSigner } from './solana.js';

export class EnclaveWallet extends EnclaveWalletClient {
  /** A viem LocalAccount for the wallet's EVM account 0 (or `address`); resolves once the address is known. */
  toViemAccount(walletId: string, options: Approver & { address?: Address }): Promise<LocalAccount> {
    return toViemAccount(this, walletId, options);
  }

  /** An EIP-1193 provider for dapps (see evm.ts); nonce, gas and fees a dapp passes are held to bounds read from `rpcUrl`. */
  toEip1193Provider(
    walletId: string,
    options: Approver & { rpcUrl: string; chainId: number; address?: Address; fetch?: typeof fetch } & EvmLimits,
  ): Eip1193Provider {
    return toEip1193Provider(this, walletId, options);
  }

  /** A Solana signer (and @solana/kit partial signer) for the wallet's Solana account 0 (or `address`). */
  solanaSigner(walletId: string, options: Approver & { address?: string }): Promise<SolanaSigner> {
    return solanaSigner(this, walletId, options);
  }

  /** Signs an EVM transaction (legacy, EIP-2930, EIP-1559) without viem's wallet client. */
  signEvmTransaction(walletId: string, tx: TransactionSerializable, options: SignOptions): Promise<{ signature: Hex; signedTransaction: Hex; hash: Hex }> {
    return signEvmTransaction(this, walletId, tx, options);
  }

  /**
   * Prepares (host), checks (here, against the app's node `rpc.evm[chainId]`: nonce, gas, fee cap), signs
   * (enclave) and sends (host, once) a call or transfer on a configured EVM chain.
   */
  sendEvmTransaction(
    walletId: string,
    request: { chainId: number; to: Address; value?: bigint; data?: Hex },
    options: SignOptions & EvmLimits,
  ): ReturnType<typeof sendEvmTransaction> {
    return sendEvmTransaction(this, walletId, request, options);
  }

  /** Signs EIP-712 typed data. */
  signTypedData(walletId: string, typedData: TypedDataDefinition, options: SignOptions): Promise<Hex> {
    return signTypedData(this, walletId, typedData, options);
  }
}

/** Makes a client (SPEC §9). */
export function createClient(options: ClientOptions): EnclaveWallet {
  return new EnclaveWallet(options);
}

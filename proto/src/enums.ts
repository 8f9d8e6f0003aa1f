/**
 * The product's enumerations, defined once for both sides: network names and
 * EVM transaction types, and their protobuf numbers. Converters throw on a
 * value they do not know; nothing is silently mapped to a default.
 */
import { EnclaveWalletError } from './errors.js';
import { v1 } from './messages.js';

/** The networks a wallet has accounts on (SPEC §2). */
export const NETWORKS = ['evm', 'solana', 'bitcoin'] as const;
export type NetworkName = (typeof NETWORKS)[number];

/** The EVM transaction types that can be signed (SPEC §3). */
export const EVM_TX_TYPES = ['legacy', 'eip2930', 'eip1559'] as const;
export type EvmTxTypeName = (typeof EVM_TX_TYPES)[number];

const NETWORK_TO_PROTO: Readonly<Record<NetworkName, v1.Network>> = Object.freeze({
  evm: v1.Network.NETWORK_EVM,
  solana: v1.Network.NETWORK_SOLANA,
  bitcoin: v1.Network.NETWORK_BITCOIN,
});
const TX_TYPE_TO_PROTO: Readonly<Record<EvmTxTypeName, v1.EvmTransactionType>> = Object.freeze({
  legacy: v1.EvmTransactionType.EVM_TRANSACTION_TYPE_LEGACY,
  eip2930: v1.EvmTransactionType.EVM_TRANSACTION_TYPE_EIP2930,
  eip1559: v1.EvmTransactionType.EVM_TRANSACTION_TYPE_EIP1559,
});

/** @throws {EnclaveWalletError} NETWORK_UNSUPPORTED */
export function networkToProto(name: string): v1.Network {
  const n = (NETWORK_TO_PROTO as Record<string, v1.Network | undefined>)[name];
  if (n === undefined) throw new EnclaveWalletError('NETWORK_UNSUPPORTED', `unknown network ${JSON.stringify(name)}`);
  return n;
}

/** @throws {EnclaveWalletError} NETWORK_UNSUPPORTED */
export function networkFromProto(value: number | null | undefined): NetworkName {
  const name = NETWORKS.find((k) => NETWORK_TO_PROTO[k] === value);
  if (!name) throw new EnclaveWalletError('NETWORK_UNSUPPORTED', `unknown network ${String(value)}`);
  return name;
}

/** @throws {EnclaveWalletError} TRANSACTION_INVALID */
export function evmTxTypeToProto(name: string): v1.EvmTransactionType {
  const t = (TX_TYPE_TO_PROTO as Record<string, v1.EvmTransactionType | undefined>)[name];
  if (t === undefined) throw new EnclaveWalletError('TRANSACTION_INVALID', `unknown transaction type ${JSON.stringify(name)}`);
  return t;
}

/** @throws {EnclaveWalletError} TRANSACTION_INVALID */
export function evmTxTypeFromProto(value: number | null | undefined): EvmTxTypeName {
  const name = EVM_TX_TYPES.find((k) => TX_TYPE_TO_PROTO[k] === value);
  if (!name) throw new EnclaveWalletError('TRANSACTION_INVALID', 'the transaction type must be legacy, eip2930 or eip1559');
  return name;
}

/** Whether two addresses name the same account: EVM addresses compare case-insensitively (EIP-55 is only a checksum), others (base58, bech32) exactly. */
export function sameAddress(network: string | undefined, a: string, b: string): boolean {
  return network === 'evm' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/**
 * The KMS encryption context of the guard's credentials: the operator encrypts
 * them with it, the key policy lets the admin encrypt nothing else, and the
 * enclave decrypts with exactly it (docs/guard.md).
 */
export const GUARD_CREDENTIALS_PURPOSE = 'guard-credentials';
export const GUARD_CREDENTIALS_CONTEXT: Readonly<Record<string, string>> = Object.freeze({ 'enclave-wallet:purpose': GUARD_CREDENTIALS_PURPOSE });

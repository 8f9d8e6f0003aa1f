/**
 * The PIN prompt's EVM summaries (see ../summary.ts): a transaction decoded from its unsigned serialisation (with
 * ERC-20 transfer, transferFrom and approve calls recognised), a personal_sign message, EIP-712 typed data.
 */
import { fromHex, toHex } from '../proto-copy/bytes.js';
import { getAddress, parseTransaction, type Hex } from 'viem';
import { formatUnits, messageContent, type MessageContent } from './values.js';

/** A decoded EVM contract call. ERC-20 amounts are raw (the token's smallest unit). */
export type ContractCall =
  | { type: 'erc20-transfer'; token: string; recipient: string; amount: string }
  | { type: 'erc20-transfer-from'; token: string; from: string; recipient: string; amount: string }
  | { type: 'erc20-approve'; token: string; spender: string; amount: string; unlimited: boolean }
  | { type: 'contract-call'; contract: string; selector: Hex; dataBytes: number }
  | { type: 'deploy'; dataBytes: number };

export interface EvmTransactionSummary {
  kind: 'evm-transaction';
  network: 'evm';
  signer: string;
  chain: { chainId: number; name: string | undefined };
  type: 'legacy' | 'eip2930' | 'eip1559';
  /** The recipient (for a token call: the token contract); null when the transaction deploys a contract. */
  to: string | null;
  value: { wei: string; symbol: string; formatted: string };
  /** Present when the transaction carries data. */
  call: ContractCall | undefined;
  nonce: number;
  gas: string;
  /** The most the signer pays per gas, in wei (maxFeePerGas, or gasPrice). */
  maxFeePerGas: string;
  /** The most the transaction can cost in fees: gas limit × maxFeePerGas, in wei and in the chain's native coin. */
  maxTotalFee: { wei: string; symbol: string; formatted: string };
}

export interface EvmMessageSummary {
  kind: 'evm-message';
  network: 'evm';
  signer: string;
  message: MessageContent;
}

export interface EvmTypedDataSummary {
  kind: 'evm-typed-data';
  network: 'evm';
  signer: string;
  domain: { name?: string; version?: string; chainId?: string; verifyingContract?: string; salt?: string };
  primaryType: string;
  /** The primary type's fields in declaration order; nested structs and arrays as JSON. */
  fields: Array<{ name: string; type: string; value: string }>;
}

/** Chains the SDK names without asking anyone: id → [name, native symbol]. */
const EVM_CHAINS: Readonly<Record<number, readonly [string, string]>> = {
  1: ['Ethereum', 'ETH'],
  10: ['OP Mainnet', 'ETH'],
  56: ['BNB Smart Chain', 'BNB'],
  100: ['Gnosis', 'xDAI'],
  137: ['Polygon', 'POL'],
  324: ['zkSync Era', 'ETH'],
  8453: ['Base', 'ETH'],
  17000: ['Holesky', 'ETH'],
  31337: ['Anvil, local', 'ETH'],
  42161: ['Arbitrum One', 'ETH'],
  43114: ['Avalanche C-Chain', 'AVAX'],
  59144: ['Linea', 'ETH'],
  84532: ['Base Sepolia', 'ETH'],
  11155111: ['Sepolia', 'ETH'],
};

const word = (data: Uint8Array, i: number): Uint8Array => data.subarray(4 + 32 * i, 4 + 32 * (i + 1));
const uintOf = (w: Uint8Array): bigint => BigInt(`0x${toHex(w)}`);
/** An ABI address word, or undefined when its top 12 bytes are not zero (then it is no valid address argument). */
const addressOf = (w: Uint8Array): string | undefined => (w.subarray(0, 12).every((b) => b === 0) ? getAddress(`0x${toHex(w.subarray(12))}`) : undefined);
const MAX_UINT256 = (1n << 256n) - 1n;

/** Decodes ERC-20 transfer, transferFrom and approve calls (exact ABI length, clean address words); anything else is a contract call. */
export function decodeContractCall(to: string | null, data: Uint8Array): ContractCall {
  if (to === null) return { type: 'deploy', dataBytes: data.length };
  const selector = `0x${toHex(data.subarray(0, 4))}` as Hex;
  const other: ContractCall = { type: 'contract-call', contract: to, selector, dataBytes: data.length };
  if (selector === '0xa9059cbb' || selector === '0x095ea7b3') {
    const who = addressOf(word(data, 0));
    if (data.length !== 4 + 64 || !who) return other;
    const amount = uintOf(word(data, 1));
    return selector === '0xa9059cbb'
      ? { type: 'erc20-transfer', token: to, recipient: who, amount: amount.toString() }
      : { type: 'erc20-approve', token: to, spender: who, amount: amount.toString(), unlimited: amount === MAX_UINT256 };
  }
  if (selector === '0x23b872dd') {
    const from = addressOf(word(data, 0));
    const recipient = addressOf(word(data, 1));
    if (data.length !== 4 + 96 || !from || !recipient) return other;
    return { type: 'erc20-transfer-from', token: to, from, recipient, amount: uintOf(word(data, 2)).toString() };
  }
  return other;
}

/** An EVM transaction, from its unsigned serialisation (the bytes whose keccak256 the envelope binds). */
export function summarizeEvmTransaction(serialized: Hex, signer: string): EvmTransactionSummary {
  const tx = parseTransaction(serialized);
  const chainId = tx.chainId ?? 0;
  const [name, symbol] = EVM_CHAINS[chainId] ?? [undefined, 'native coin'];
  const value = tx.value ?? 0n;
  const data = tx.data && tx.data !== '0x' ? fromHex(tx.data, { prefix: true }) : undefined;
  const to = tx.to ? getAddress(tx.to) : null;
  const type = tx.type === 'eip1559' || tx.type === 'eip2930' ? tx.type : 'legacy';
  const maxFee = (tx.type === 'eip1559' ? tx.maxFeePerGas : tx.gasPrice) ?? 0n;
  const totalFee = maxFee * (tx.gas ?? 0n);
  return {
    kind: 'evm-transaction',
    network: 'evm',
    signer,
    chain: { chainId, name },
    type,
    to,
    value: { wei: value.toString(), symbol, formatted: `${formatUnits(value, 18)} ${symbol}` },
    call: data || to === null ? decodeContractCall(to, data ?? new Uint8Array(0)) : undefined,
    nonce: tx.nonce ?? 0,
    gas: (tx.gas ?? 0n).toString(),
    maxFeePerGas: maxFee.toString(),
    maxTotalFee: { wei: totalFee.toString(), symbol, formatted: `${formatUnits(totalFee, 18)} ${symbol}` },
  };
}

/** An EIP-191 message, from the bytes personal_sign prefixes and hashes. */
export function summarizeEvmMessage(bytes: Uint8Array, signer: string): EvmMessageSummary {
  return { kind: 'evm-message', network: 'evm', signer, message: messageContent(bytes) };
}

const json = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v)
    : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

/** EIP-712 typed data, from the object sent to the enclave (which hashes it and compares with the envelope's digest). */
export function summarizeTypedData(
  typedData: { domain?: unknown; types?: unknown; primaryType?: unknown; message?: unknown },
  signer: string,
): EvmTypedDataSummary {
  const domain = (typedData.domain ?? {}) as Record<string, unknown>;
  const primaryType = String(typedData.primaryType ?? '');
  const types = (typedData.types ?? {}) as Record<string, Array<{ name: string; type: string }> | undefined>;
  const message = (typedData.message ?? {}) as Record<string, unknown>;
  const out: EvmTypedDataSummary['domain'] = {};
  for (const k of ['name', 'version', 'chainId', 'verifyingContract', 'salt'] as const) if (domain[k] !== undefined) out[k] = json(domain[k]);
  const fields = (types[primaryType] ?? []).map((f) => ({ name: f.name, type: f.type, value: json(message[f.name]) }));
  return { kind: 'evm-typed-data', network: 'evm', signer, domain: out, primaryType, fields };
}

/**
 * EVM through viem (a peer dependency): transactions and EIP-712 digests
 * computed with viem from what is signed, a viem `LocalAccount` whose
 * signatures come from the enclave, and an EIP-1193 provider for dapps.
 */
import {
  createPublicClient,
  hashTypedData,
  http,
  keccak256,
  serializeTransaction,
  toHex,
  type Address,
  type Hex,
  type LocalAccount,
  type SignableMessage,
  type TransactionSerializable,
  type TypedDataDefinition,
} from 'viem';
import { toAccount } from 'viem/accounts';
import type { ApiEvmTransaction, EnclaveWalletClient, SignOptions } from './client.js';
import { checkEvmLimits, type EvmLimits } from './evm-limits.js';
import { EnclaveWalletApiError } from './errors.js';
import { authorizationOf, type Authorize } from './factors.js';
import { summarizeEvmTransaction, summarizeTypedData, type GetPin } from './summary.js';

export type { GetPin } from './summary.js';
export {
  BASE_FEE_MULTIPLIER,
  checkEvmLimits,
  DEFAULT_MAX_GAS,
  FEE_HISTORY_BLOCKS,
  GAS_MARGIN_PERCENT,
  NONCE_WINDOW,
  PLAIN_TRANSFER_GAS,
  TIP_MULTIPLIER,
  type EvmLimits,
} from './evm-limits.js';

const dec = (v: bigint | number | undefined): string | undefined => (v === undefined ? undefined : BigInt(v).toString());

/** The API's form of a viem transaction (the same fields, integers in decimal). */
export function toApiTransaction(tx: TransactionSerializable): { chainId: number; transaction: ApiEvmTransaction } {
  if (!tx.chainId) throw new TypeError('the transaction needs a chainId');
  const type = tx.type ?? (tx.maxFeePerGas !== undefined ? 'eip1559' : tx.accessList ? 'eip2930' : 'legacy');
  if (type !== 'legacy' && type !== 'eip2930' && type !== 'eip1559') throw new TypeError(`transaction type ${type} is not supported`);
  if (tx.nonce === undefined || tx.gas === undefined) throw new TypeError('the transaction needs nonce and gas');
  const transaction: ApiEvmTransaction = {
    type,
    nonce: String(tx.nonce),
    gas: dec(tx.gas)!,
    ...(tx.to ? { to: tx.to } : {}),
    ...(tx.value !== undefined ? { value: dec(tx.value) } : {}),
    ...(tx.data ? { data: tx.data } : {}),
    ...(type === 'eip1559' ? { maxFeePerGas: dec(tx.maxFeePerGas), maxPriorityFeePerGas: dec(tx.maxPriorityFeePerGas) } : { gasPrice: dec(tx.gasPrice) }),
    ...(type !== 'legacy' ? { accessList: (tx.accessList ?? []).map((e) => ({ address: e.address, storageKeys: [...e.storageKeys] })) } : {}),
  };
  return { chainId: tx.chainId, transaction };
}

/** Signs an EVM transaction; the digest is keccak256 of viem's serialisation of exactly what is sent. */
export async function signEvmTransaction(
  client: EnclaveWalletClient,
  walletId: string,
  tx: TransactionSerializable,
  options: SignOptions,
): Promise<{ signature: Hex; signedTransaction: Hex; hash: Hex }> {
  const { chainId, transaction } = toApiTransaction(tx);
  // What the enclave will parse and sign is the API form; hash the same fields. The PIN prompt's summary is
  // decoded from the same serialised bytes.
  const canonical = { ...tx, type: transaction.type } as TransactionSerializable;
  const serialized = serializeTransaction(canonical);
  const digest = keccak256(serialized);
  return client.signEvmWithDigest(
    walletId,
    { kind: 'transaction', chainId, transaction },
    digest,
    (signer) => summarizeEvmTransaction(serialized, signer),
    options,
  );
}

/**
 * Sends a call or a transfer on a configured EVM chain: the host prepares it
 * (nonce, gas, fees), this client refuses it unless chain, recipient, value
 * and data are the ones asked for and nonce, gas and fee are within the
 * bounds of `checkEvmLimits` read from the app's own node
 * (`rpc.evm[chainId]`; none: RPC_NOT_CONFIGURED), computes the digest itself
 * with viem, and only then asks for and seals the PIN (the summary shows the
 * maximum total fee); the host signs in the enclave and sends it once.
 */
export async function sendEvmTransaction(
  client: EnclaveWalletClient,
  walletId: string,
  request: { chainId: number; to: Address; value?: bigint; data?: Hex },
  options: SignOptions & EvmLimits,
): Promise<{ hash: Hex; signedTransaction: Hex; transaction: ApiEvmTransaction }> {
  const address = await client.accountAddress(walletId, 'evm', options.address);
  // Before anything is asked of the host: a chain the app has no node for is refused.
  const node = createPublicClient({
    transport: http(client.nodeUrl({ network: 'evm', chainId: request.chainId }), { fetchFn: client.nodeFetch, retryCount: 1 }),
  });
  const value = request.value ?? 0n;
  const data = request.data ?? '0x';
  const prepared = await client.prepareTransaction<{ chainId: number; transaction: ApiEvmTransaction & { data: Hex } }>(walletId, {
    network: 'evm',
    chainId: request.chainId,
    address,
    to: request.to,
    value: value.toString(),
    data,
  });
  const tx = checkPrepared(prepared, request, value, data);
  await checkEvmLimits(node, request.chainId, address as Address, tx, {
    ...(options.maxFeePerGas !== undefined ? { maxFeePerGas: options.maxFeePerGas } : {}),
    ...(options.maxGas !== undefined ? { maxGas: options.maxGas } : {}),
  });
  // What is sent is what was checked and hashed (the host's copy is not reused).
  const transaction: ApiEvmTransaction = toApiTransaction(tx).transaction;
  const serialized = serializeTransaction(tx);
  const out = await client.sendWithDigest<{ hash: Hex; signedTransaction: Hex }>(
    walletId,
    { network: 'evm', kind: 'transaction', chainId: request.chainId, transaction },
    keccak256(serialized),
    (signer) => summarizeEvmTransaction(serialized, signer),
    { ...authorizationOf(options), address },
  );
  return { ...out, transaction };
}

/**
 * The transaction to sign, built from what the app asked for and the host's prepared numbers (nonce, gas,
 * fees), once the host's copy is found to be that transaction. @throws PREPARED_TRANSACTION_MISMATCH
 */
function checkPrepared(
  prepared: { chainId: number; transaction: ApiEvmTransaction & { data: Hex } },
  request: { chainId: number; to: Address },
  value: bigint,
  data: Hex,
): TransactionSerializable {
  const t = prepared.transaction;
  const mismatch = (what: string): EnclaveWalletApiError =>
    new EnclaveWalletApiError({
      code: 'PREPARED_TRANSACTION_MISMATCH',
      message: `the host prepared another transaction than the one asked for (${what}); nothing was signed`,
      status: 0,
    });
  if (prepared.chainId !== request.chainId) throw mismatch('chain');
  if (!t.to || t.to.toLowerCase() !== request.to.toLowerCase()) throw mismatch('recipient');
  if (BigInt(t.value ?? '0') !== value) throw mismatch('value');
  if ((t.data ?? '0x').toLowerCase() !== data.toLowerCase()) throw mismatch('data');
  if (t.type !== 'eip1559' && t.type !== 'legacy') throw mismatch('type');
  let nonce: number;
  try {
    nonce = Number(BigInt(t.nonce));
  } catch {
    throw mismatch('nonce');
  }
  try {
    const base = { chainId: request.chainId, to: request.to, value, data, nonce, gas: BigInt(t.gas) };
    return t.type === 'eip1559'
      ? { ...base, type: 'eip1559', maxFeePerGas: BigInt(t.maxFeePerGas ?? '0'), maxPriorityFeePerGas: BigInt(t.maxPriorityFeePerGas ?? '0') }
      : { ...base, type: 'legacy', gasPrice: BigInt(t.gasPrice ?? '0') };
  } catch {
    throw mismatch('numbers');
  }
}

/** Signs EIP-712 typed data; the digest is viem's hashTypedData of the same object. */
export async function signTypedData(client: EnclaveWalletClient, walletId: string, typedData: TypedDataDefinition, options: SignOptions): Promise<Hex> {
  const digest = hashTypedData(typedData as Parameters<typeof hashTypedData>[0]);
  const plain = JSON.parse(JSON.stringify(typedData, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, unknown>;
  const body = {
    kind: 'typed-data' as const,
    typedData: { domain: plain.domain ?? {}, types: plain.types, primaryType: plain.primaryType, message: plain.message ?? {} },
  };
  // The summary is read from the object sent, which the enclave hashes and compares with this digest.
  return (await client.signEvmWithDigest<{ signature: Hex }>(walletId, body, digest, (signer) => summarizeTypedData(body.typedData, signer), options))
    .signature;
}

/**
 * How an account, a provider or a signer asks for each signature: `getPin` (the PIN, with the summary of what is
 * signed) or `authorize` (the same summary; answers `{ pin }` or `{ passkey: true }`).
 */
export type Approver = { getPin: GetPin; authorize?: undefined } | { authorize: Authorize; getPin?: undefined };

/** The per-signature options of an approver. */
export const approval = (o: Approver): { getPin: GetPin } | { authorize: Authorize } => (o.authorize ? { authorize: o.authorize } : { getPin: o.getPin! });

/**
 * A viem `LocalAccount` (made with `toAccount`) whose signatures come from
 * the enclave: `createWalletClient({ account, chain, transport })` then signs
 * and sends through it. `getPin` (or `authorize`) is called once per signature, with a summary
 * of what is signed.
 */
export async function toViemAccount(client: EnclaveWalletClient, walletId: string, options: Approver & { address?: Address }): Promise<LocalAccount> {
  const address = (await client.accountAddress(walletId, 'evm', options.address)) as Address;
  const ask = approval(options);
  return toAccount({
    address,
    async signMessage({ message }: { message: SignableMessage }) {
      const m = typeof message === 'string' ? message : { raw: typeof message.raw === 'string' ? message.raw : toHex(message.raw) };
      return client.signEvmMessage(walletId, m, { ...ask, address });
    },
    async signTypedData(typedData) {
      return signTypedData(client, walletId, typedData as TypedDataDefinition, { ...ask, address });
    },
    async signTransaction(transaction) {
      return (await signEvmTransaction(client, walletId, transaction, { ...ask, address })).signedTransaction;
    },
  });
}

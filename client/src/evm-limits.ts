/**
 * The bounds on what the host (or a dapp) fills in an EVM transaction (nonce, gas, fees), checked against the
 * app's own node before any PIN is asked (see `checkEvmLimits`).
 */
import type { Address, FeeHistory, PublicClient, TransactionSerializable } from 'viem';
import { EnclaveWalletApiError } from './errors.js';
import { nodeError } from './nodes.js';

/** The gas of a transfer without data to an account without code (Ethereum's intrinsic cost of a transaction). */
export const PLAIN_TRANSFER_GAS = 21_000n;
/** A gas limit may exceed what the SDK's own node says is needed by this share (the host adds 20 %). */
export const GAS_MARGIN_PERCENT = 25n;
/** The gas limit the SDK signs at most, whatever the estimate, unless the app passes `maxGas`. */
export const DEFAULT_MAX_GAS = 2_000_000n;
/** A nonce may differ from the SDK's node's pending count by this much (two nodes' mempools differ). */
export const NONCE_WINDOW = 2;
/** Blocks of fee history the default fee cap is derived from. */
export const FEE_HISTORY_BLOCKS = 10;
/** The default fee cap: this many times the next base fee… */
export const BASE_FEE_MULTIPLIER = 3n;
/** …plus this many times the reference tip (the larger of the median tip and `eth_maxPriorityFeePerGas`); legacy: this many times `eth_gasPrice`. */
export const TIP_MULTIPLIER = 2n;

/** Limits an app may set on a transaction the host (or a dapp) fills in. */
export interface EvmLimits {
  /** The most to pay per gas, in wei (maxFeePerGas or gasPrice). Default: derived from the app's node's fee history. */
  maxFeePerGas?: bigint;
  /** The largest gas limit to sign (default DEFAULT_MAX_GAS). */
  maxGas?: bigint;
}

const limitError = (code: 'FEE_ABOVE_CAP' | 'GAS_OUT_OF_RANGE' | 'NONCE_OUT_OF_RANGE', message: string): EnclaveWalletApiError =>
  new EnclaveWalletApiError({ code, message: `${message}; nothing was signed`, status: 0 });

/** What the app's node answered to `work`; a failure becomes `nodeError` (RPC_ERROR), `what` saying which call failed. */
const read = <T>(what: string, work: () => Promise<T>): Promise<T> => work().catch((cause: unknown) => Promise.reject(nodeError(what, cause)));

const median = (xs: bigint[]): bigint => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[Math.floor(xs.length / 2)]!;

/**
 * Checks the parts of an EVM transaction that the host or a dapp chose and the
 * user's request did not (nonce, gas, fees) against what the app's own node
 * (`node`, for chain `chainId`) says: the node serves that chain; the nonce is
 * within NONCE_WINDOW of the pending count; the gas limit is at least 21 000
 * and at most 25 % above 21 000 for a plain transfer (no data, no code at the
 * recipient), otherwise at most 25 % above the node's estimate, and never
 * above `maxGas`; the fee per gas is at most `maxFeePerGas`, or by default at
 * most 3 × the next base fee + 2 × the reference tip (legacy chains: 2 × the
 * gas price), and the tip at most the fee. Each refusal is typed
 * (`FEE_ABOVE_CAP`, `GAS_OUT_OF_RANGE`, `NONCE_OUT_OF_RANGE`; the node failing
 * or serving another chain: `RPC_ERROR`), before any PIN is asked.
 */
export async function checkEvmLimits(node: PublicClient, chainId: number, from: Address, tx: TransactionSerializable, limits: EvmLimits = {}): Promise<void> {
  const to = tx.to ?? undefined;
  const data = tx.data && tx.data !== '0x' ? tx.data : undefined;
  const [nodeChain, pending, code, history] = await Promise.all([
    read('did not answer eth_chainId', () => node.getChainId()),
    read('did not answer the pending transaction count', () => node.getTransactionCount({ address: from, blockTag: 'pending' })),
    to && !data ? read('did not answer eth_getCode', () => node.getCode({ address: to })) : Promise.resolve(undefined),
    limits.maxFeePerGas === undefined
      ? read('did not answer eth_feeHistory', () => node.getFeeHistory({ blockCount: FEE_HISTORY_BLOCKS, rewardPercentiles: [50], blockTag: 'latest' }))
      : Promise.resolve(undefined),
  ]);
  if (nodeChain !== chainId) throw nodeError(`configured for chain ${chainId} serves chain ${nodeChain}`);

  const nonce = tx.nonce ?? -1;
  if (!Number.isSafeInteger(nonce) || nonce < pending - NONCE_WINDOW || nonce > pending + NONCE_WINDOW) {
    throw limitError('NONCE_OUT_OF_RANGE', `the nonce ${nonce} is not within ${NONCE_WINDOW} of the account's pending count (${pending}) on the app's node`);
  }

  const plain = to !== undefined && !data && (code === undefined || code === '0x');
  const needed = plain
    ? PLAIN_TRANSFER_GAS
    : await read('could not estimate the gas of the call (it may revert)', () =>
        node.estimateGas({ account: from, ...(to ? { to } : {}), value: tx.value ?? 0n, ...(data ? { data } : {}) }),
      );
  const ceiling = limits.maxGas ?? DEFAULT_MAX_GAS;
  const allowed = (needed * (100n + GAS_MARGIN_PERCENT) + 99n) / 100n;
  const bound = allowed < ceiling ? allowed : ceiling;
  const gas = tx.gas ?? 0n;
  if (gas > bound || gas < (plain ? PLAIN_TRANSFER_GAS : 1n)) {
    throw limitError(
      'GAS_OUT_OF_RANGE',
      `the gas limit ${gas} is outside what the call needs (${needed}${plain ? ', a plain transfer' : ", the app's node's estimate"}) + ${GAS_MARGIN_PERCENT} %, capped at ${ceiling}`,
    );
  }

  const fee = (tx.type === 'eip1559' || tx.maxFeePerGas !== undefined ? tx.maxFeePerGas : tx.gasPrice) ?? 0n;
  let cap = limits.maxFeePerGas;
  if (cap === undefined) cap = await defaultFeeCap(node, history);
  if (fee > cap) {
    throw limitError(
      'FEE_ABOVE_CAP',
      `the fee (${fee} wei per gas) is above the cap (${cap}${limits.maxFeePerGas === undefined ? ", from the app's node's fee history" : ''})`,
    );
  }
  if (tx.maxPriorityFeePerGas !== undefined && tx.maxPriorityFeePerGas > fee) {
    throw limitError('FEE_ABOVE_CAP', `the priority fee (${tx.maxPriorityFeePerGas}) is above the fee cap of the transaction (${fee})`);
  }
}

/**
 * The fee cap when the app sets none: BASE_FEE_MULTIPLIER × the next base fee + TIP_MULTIPLIER × the reference tip
 * (the larger of the median tip of the fee history and `eth_maxPriorityFeePerGas`, 1 gwei when both are 0); on a
 * chain without a base fee, TIP_MULTIPLIER × `eth_gasPrice`.
 */
async function defaultFeeCap(node: PublicClient, history: FeeHistory | undefined): Promise<bigint> {
  const nextBase = history?.baseFeePerGas.at(-1) ?? 0n;
  if (nextBase > 0n) {
    const tips = (history?.reward ?? []).map((r) => r[0] ?? 0n).filter((x) => x > 0n);
    const suggested = await node.estimateMaxPriorityFeePerGas().catch(() => 0n);
    const medianTip = tips.length ? median(tips) : 0n;
    const tip = medianTip > suggested ? medianTip : suggested;
    return BASE_FEE_MULTIPLIER * nextBase + TIP_MULTIPLIER * (tip > 0n ? tip : 1_000_000_000n);
  }
  return TIP_MULTIPLIER * (await read('did not answer eth_gasPrice', () => node.getGasPrice()));
}

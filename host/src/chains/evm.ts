/**
 * An EVM chain through viem's public client: balances (native and ERC-20,
 * in one batched JSON-RPC request), prepared transactions (nonce, gas, fees
 * and the digest to bind) and broadcast. Reads may be retried; a send never
 * is, so a signed transaction reaches the node at most once per request.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import {
  createPublicClient,
  erc20Abi,
  http,
  keccak256,
  serializeTransaction,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionSerializable,
} from 'viem';
import type { EvmChainConfig } from './config.js';
import { alreadyKnown, evmFailure } from './failures.js';
import { BALANCE_ACCOUNTS_AT_ONCE, EVM_BATCH_SIZE, inGroups } from './groups.js';

/** The gas limit is the node's estimate plus this share (state can change between prepare and send). */
export const GAS_MARGIN_PERCENT = 20;
/** Blocks of fee history the priority fee is taken from (their median 50th-percentile tip). */
export const FEE_HISTORY_BLOCKS = 10;
const RPC_TIMEOUT_MS = 10_000;

export interface Balance {
  address: string;
  asset: 'native' | string;
  symbol: string;
  decimals: number;
  /** In the asset's smallest unit, as a decimal string; null when the token did not answer. */
  amount: string | null;
  error?: string;
}

/** A transaction as the sign and send requests take it (SPEC §3): integers as decimal strings. */
export interface PreparedEvmTransaction {
  type: 'eip1559' | 'legacy';
  to: string;
  value: string;
  nonce: string;
  gas: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
  gasPrice?: string;
  data: Hex;
}

export interface EvmLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

const median = (xs: bigint[]): bigint => {
  const s = [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return s[Math.floor(s.length / 2)]!;
};

export class EvmChain {
  private readonly reads: PublicClient;
  private readonly sends: PublicClient;
  private chainChecked: Promise<void> | undefined;
  private readonly warned = new Set<string>();

  constructor(
    readonly config: EvmChainConfig,
    private readonly log?: EvmLogger,
    timeoutMs = RPC_TIMEOUT_MS,
  ) {
    const url = config.rpc.reveal();
    // Concurrent reads go out as one JSON-RPC batch; sends alone and never retried.
    this.reads = createPublicClient({ transport: http(url, { batch: { wait: 0, batchSize: EVM_BATCH_SIZE }, retryCount: 2, timeout: timeoutMs }) });
    this.sends = createPublicClient({ transport: http(url, { retryCount: 0, timeout: timeoutMs }) });
  }

  /** Checks once that the node serves the configured chain id (a wrong URL must not take transactions for another chain). */
  private async checkChain(): Promise<void> {
    this.chainChecked ??= this.reads.getChainId().then(
      (id) => {
        if (id !== this.config.chainId) throw new EnclaveWalletError('CHAIN_ERROR', `the node configured for chain ${this.config.chainId} serves chain ${id}`);
      },
      (err: unknown) => {
        throw evmFailure(err);
      },
    );
    try {
      await this.chainChecked;
    } catch (err) {
      this.chainChecked = undefined; // ask again next time (the node may come back, or be fixed)
      throw err;
    }
  }

  private async read<T>(work: () => Promise<T>): Promise<T> {
    await this.checkChain();
    try {
      return await work();
    } catch (err) {
      throw evmFailure(err);
    }
  }

  /** Native and configured ERC-20 balances of each address, read in batches of at most EVM_BATCH_SIZE calls, a group of addresses at a time. */
  async balances(addresses: string[]): Promise<Balance[]> {
    return this.read(async () => {
      const perAddress = await inGroups(addresses, BALANCE_ACCOUNTS_AT_ONCE, async (address) => {
        const native = this.reads.getBalance({ address: address as Address });
        const tokens = this.config.tokens.map(async (t): Promise<Balance> => {
          const contract = { address: t.address as Address, abi: erc20Abi } as const;
          const [balance, decimals, symbol] = await Promise.allSettled([
            this.reads.readContract({ ...contract, functionName: 'balanceOf', args: [address as Address] }),
            this.reads.readContract({ ...contract, functionName: 'decimals' }),
            this.reads.readContract({ ...contract, functionName: 'symbol' }),
          ]);
          const chainDecimals = decimals.status === 'fulfilled' ? decimals.value : t.decimals;
          const chainSymbol = symbol.status === 'fulfilled' ? symbol.value : t.symbol;
          if ((chainDecimals !== t.decimals || chainSymbol !== t.symbol) && !this.warned.has(t.address)) {
            this.warned.add(t.address);
            this.log?.warn(
              {
                chainId: this.config.chainId,
                token: t.address,
                configured: { symbol: t.symbol, decimals: t.decimals },
                onChain: { symbol: chainSymbol, decimals: chainDecimals },
              },
              'a token’s configured symbol or decimals differ from the chain’s; the chain’s are reported',
            );
          }
          if (balance.status === 'rejected')
            return {
              address,
              asset: t.address,
              symbol: chainSymbol,
              decimals: chainDecimals,
              amount: null,
              error: 'the token contract did not answer balanceOf',
            };
          return { address, asset: t.address, symbol: chainSymbol, decimals: chainDecimals, amount: balance.value.toString() };
        });
        const nativeBalance: Balance = { address, asset: 'native', symbol: this.config.nativeSymbol, decimals: 18, amount: (await native).toString() };
        return [nativeBalance, ...(await Promise.all(tokens))];
      });
      return perAddress.flat();
    });
  }

  /**
   * Fills a transaction from `from` for the node: the nonce from the pending
   * count, the gas from an estimate plus GAS_MARGIN_PERCENT, and the fees
   * from eth_feeHistory (EIP-1559: twice the next base fee plus the median
   * tip; legacy gas price where the chain has no base fee). A call that
   * reverts is TRANSACTION_REVERTED with its reason.
   */
  async prepare(from: string, call: { to: string; value: bigint; data: Hex }): Promise<{ transaction: PreparedEvmTransaction; digest: Hex }> {
    const { nonce, gas, fees } = await this.read(async () => {
      const account = from as Address;
      const [nonce, estimate, history] = await Promise.all([
        this.reads.getTransactionCount({ address: account, blockTag: 'pending' }),
        this.reads.estimateGas({ account, to: call.to as Address, value: call.value, data: call.data }),
        this.reads.getFeeHistory({ blockCount: FEE_HISTORY_BLOCKS, rewardPercentiles: [50], blockTag: 'latest' }),
      ]);
      const nextBase = history.baseFeePerGas.at(-1) ?? 0n;
      let fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { gasPrice: bigint };
      if (nextBase > 0n) {
        const tips = (history.reward ?? []).map((r) => r[0] ?? 0n).filter((x) => x > 0n);
        const tip = tips.length ? median(tips) : await this.reads.estimateMaxPriorityFeePerGas().catch(() => 1_000_000_000n);
        fees = { maxFeePerGas: 2n * nextBase + tip, maxPriorityFeePerGas: tip };
      } else {
        fees = { gasPrice: await this.reads.getGasPrice() };
      }
      return { nonce, gas: (estimate * BigInt(100 + GAS_MARGIN_PERCENT) + 99n) / 100n, fees };
    });
    const base = { chainId: this.config.chainId, to: call.to as Address, value: call.value, nonce, gas, data: call.data };
    const tx: TransactionSerializable = 'gasPrice' in fees ? { ...base, type: 'legacy', gasPrice: fees.gasPrice } : { ...base, type: 'eip1559', ...fees };
    const transaction: PreparedEvmTransaction = {
      type: 'gasPrice' in fees ? 'legacy' : 'eip1559',
      to: call.to,
      value: call.value.toString(),
      nonce: String(nonce),
      gas: gas.toString(),
      ...('gasPrice' in fees
        ? { gasPrice: fees.gasPrice.toString() }
        : { maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() }),
      data: call.data,
    };
    return { transaction, digest: keccak256(serializeTransaction(tx)) };
  }

  /**
   * Hands a signed transaction to the node, once. The node's refusals map
   * to NONCE_TOO_LOW, FEE_TOO_LOW, INSUFFICIENT_FUNDS, TRANSACTION_REVERTED
   * or TRANSACTION_REJECTED; a node that already has it counts as sent.
   */
  async send(signedTransaction: Hex, hash: Hex): Promise<Hex> {
    await this.checkChain();
    try {
      const accepted = await this.sends.request({ method: 'eth_sendRawTransaction', params: [signedTransaction] });
      if (accepted.toLowerCase() !== hash.toLowerCase())
        throw new EnclaveWalletError('CHAIN_ERROR', 'the node answered another transaction hash than the one signed', { hash });
      return hash;
    } catch (err) {
      if (alreadyKnown(err)) return hash; // this very transaction reached the node before
      throw evmFailure(err, hash);
    }
  }
}

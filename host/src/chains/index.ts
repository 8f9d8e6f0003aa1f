/** The configured chains (CHAINS), by EVM chain id or Solana cluster name. */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { ChainConfig } from './config.js';
import { EvmChain, type EvmLogger } from './evm.js';
import { SolanaChain } from './solana.js';

export { parseChains, RpcEndpoint, type ChainConfig } from './config.js';
export type { Balance, PreparedEvmTransaction } from './evm.js';

/** What `GET /v1/chains` shows of a chain (never its RPC URL). */
export interface PublicChain {
  network: 'evm' | 'solana';
  chainId?: number;
  cluster?: string;
  name: string;
  nativeSymbol: string;
  tokens: Array<{ address: string; symbol: string; decimals: number }>;
}

export class Chains {
  private readonly evmChains = new Map<number, EvmChain>();
  private readonly solanaChains = new Map<string, SolanaChain>();

  constructor(
    readonly configs: ChainConfig[],
    log?: EvmLogger,
    options: { timeoutMs?: number } = {},
  ) {
    for (const c of configs) {
      if (c.network === 'evm') this.evmChains.set(c.chainId, new EvmChain(c, log, options.timeoutMs));
      else this.solanaChains.set(c.cluster, new SolanaChain(c, options.timeoutMs));
    }
  }

  list(): PublicChain[] {
    return this.configs.map((c) => ({
      network: c.network,
      ...(c.network === 'evm' ? { chainId: c.chainId } : { cluster: c.cluster }),
      name: c.name,
      nativeSymbol: c.nativeSymbol,
      tokens: c.tokens.map((t) => ({ ...t })),
    }));
  }

  evm(chainId: number): EvmChain {
    const chain = this.evmChains.get(chainId);
    if (!chain) throw new EnclaveWalletError('CHAIN_UNSUPPORTED', `chain ${chainId} is not configured on this host (GET /v1/chains lists those that are)`);
    return chain;
  }

  solana(cluster: string): SolanaChain {
    const chain = this.solanaChains.get(cluster);
    if (!chain)
      throw new EnclaveWalletError('CHAIN_UNSUPPORTED', `Solana cluster ${cluster} is not configured on this host (GET /v1/chains lists those that are)`);
    return chain;
  }
}

/**
 * `CHAINS` (SPEC §7): the chains this host reads and broadcasts to, a JSON
 * array validated at start-up with every problem reported at once. An RPC
 * URL may carry an API key, so it is kept in an `RpcEndpoint` that prints as
 * "[redacted]" wherever it is logged or serialised; no message quotes it.
 */
import { inspect } from 'node:util';
import { base58 } from '@scure/base';
import { getAddress, isAddress } from 'viem';

/** An RPC URL that never shows itself in logs, JSON or error messages. */
export class RpcEndpoint {
  readonly #url: string;
  constructor(url: string) {
    this.#url = url;
  }
  /** The URL, for the HTTP client only. */
  reveal(): string {
    return this.#url;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'RpcEndpoint([redacted])';
  }
}

export interface TokenConfig {
  /** EVM: the checksummed ERC-20 contract address; Solana: the SPL mint (base58). */
  address: string;
  symbol: string;
  decimals: number;
}

interface ChainBase {
  name: string;
  rpc: RpcEndpoint;
  nativeSymbol: string;
  tokens: TokenConfig[];
}
export interface EvmChainConfig extends ChainBase {
  network: 'evm';
  chainId: number;
}
export interface SolanaChainConfig extends ChainBase {
  network: 'solana';
  /** The cluster's name as the API names it (`mainnet-beta`, `devnet`, `localnet`, …). */
  cluster: string;
}
export type ChainConfig = EvmChainConfig | SolanaChainConfig;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSolanaAddress = (s: string): boolean => {
  try {
    return base58.decode(s).length === 32;
  } catch {
    return false;
  }
};

/**
 * Parses `CHAINS`. Unset or empty: no chains (the chain routes answer
 * CHAIN_UNSUPPORTED).
 *
 * @throws {Error} listing every problem, one per line, never quoting an RPC URL
 */
export function parseChains(text: string | undefined): ChainConfig[] {
  if (!text?.trim()) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input, which may hold an API key.
    throw new Error('CHAINS is not valid JSON');
  }
  if (!Array.isArray(raw)) throw new Error('CHAINS must be a JSON array of chains');
  const problems: string[] = [];
  const out: ChainConfig[] = [];
  const seen = new Set<string>();
  raw.forEach((c: unknown, i) => {
    const at = (field: string, what: string): void => void problems.push(`CHAINS[${i}]${field ? `.${field}` : ''}: ${what}`);
    if (!isObject(c)) return at('', 'must be an object');
    const known = new Set(['network', 'chainId', 'cluster', 'name', 'rpcUrl', 'nativeSymbol', 'tokens']);
    for (const k of Object.keys(c)) if (!known.has(k)) at(k, 'unknown field');
    const network = c.network;
    if (network !== 'evm' && network !== 'solana') at('network', 'must be "evm" or "solana"');
    if (typeof c.name !== 'string' || !c.name.trim() || c.name.length > 64) at('name', 'must be a name of 1 to 64 characters');
    if (typeof c.nativeSymbol !== 'string' || !/^[A-Za-z0-9.]{1,16}$/.test(c.nativeSymbol)) at('nativeSymbol', 'must be 1 to 16 letters or digits');
    let rpcOk = false;
    if (typeof c.rpcUrl !== 'string') at('rpcUrl', 'must be an http(s) URL');
    else {
      try {
        const u = new URL(c.rpcUrl);
        rpcOk = u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        rpcOk = false;
      }
      if (!rpcOk) at('rpcUrl', 'must be an http(s) URL');
    }
    let key = '';
    if (network === 'evm') {
      if (!Number.isSafeInteger(c.chainId) || (c.chainId as number) <= 0) at('chainId', 'must be a positive integer');
      if (c.cluster !== undefined) at('cluster', 'is for Solana chains; EVM chains have a chainId');
      key = `evm:${String(c.chainId)}`;
    } else if (network === 'solana') {
      if (typeof c.cluster !== 'string' || !/^[a-z0-9-]{1,32}$/.test(c.cluster)) at('cluster', 'must be a cluster name (lower-case letters, digits, dashes)');
      if (c.chainId !== undefined) at('chainId', 'is for EVM chains; Solana chains have a cluster');
      key = `solana:${String(c.cluster)}`;
    }
    if (key && seen.has(key)) at(network === 'evm' ? 'chainId' : 'cluster', 'is configured twice');
    seen.add(key);
    const tokens: TokenConfig[] = [];
    if (c.tokens !== undefined && !Array.isArray(c.tokens)) at('tokens', 'must be an array');
    const tokenAddresses = new Set<string>();
    (Array.isArray(c.tokens) ? c.tokens : []).forEach((t: unknown, j) => {
      const tat = (field: string, what: string): void => at(`tokens[${j}]${field ? `.${field}` : ''}`, what);
      if (!isObject(t)) return tat('', 'must be an object');
      let address = '';
      if (typeof t.address !== 'string') tat('address', 'must be a string');
      else if (network === 'evm') {
        if (!isAddress(t.address, { strict: false })) tat('address', 'must be a 20-byte 0x address');
        else address = getAddress(t.address);
      } else if (network === 'solana') {
        if (!isSolanaAddress(t.address)) tat('address', 'must be a base58 mint address');
        else address = t.address;
      }
      if (address && tokenAddresses.has(address.toLowerCase())) tat('address', 'is listed twice');
      tokenAddresses.add(address.toLowerCase());
      if (typeof t.symbol !== 'string' || !/^[A-Za-z0-9.$_-]{1,16}$/.test(t.symbol)) tat('symbol', 'must be 1 to 16 characters');
      if (!Number.isInteger(t.decimals) || (t.decimals as number) < 0 || (t.decimals as number) > 255) tat('decimals', 'must be an integer from 0 to 255');
      tokens.push({ address, symbol: String(t.symbol), decimals: Number(t.decimals) });
    });
    const base = { name: String(c.name ?? '').trim(), rpc: new RpcEndpoint(rpcOk ? String(c.rpcUrl) : ''), nativeSymbol: String(c.nativeSymbol ?? ''), tokens };
    if (network === 'evm') out.push({ ...base, network, chainId: Number(c.chainId) });
    else if (network === 'solana') out.push({ ...base, network, cluster: String(c.cluster) });
  });
  if (problems.length) throw new Error(`invalid CHAINS:\n  ${problems.join('\n  ')}`);
  return out;
}

/**
 * An EIP-1193 provider for dapps (wagmi, RainbowKit, ethers' BrowserProvider): one wallet's EVM account on one
 * chain. What signs goes through the enclave, with the same checks as the SDK's own calls; reads go to the app's
 * node.
 */
import { createPublicClient, http, toHex, type Address, type Hex, type PublicClient, type TransactionSerializable, type TypedDataDefinition } from 'viem';
import type { EnclaveWalletClient } from './client.js';
import { EnclaveWalletApiError } from './errors.js';
import { approval, checkEvmLimits, signEvmTransaction, signTypedData, type Approver, type EvmLimits } from './evm.js';

/** An EIP-1193 provider error (code as in EIP-1193 / EIP-1474). */
export class ProviderRpcError extends Error {
  override readonly name = 'ProviderRpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown>;
  on(event: 'connect' | 'disconnect' | 'chainChanged' | 'accountsChanged' | 'message', listener: (...args: unknown[]) => void): Eip1193Provider;
  removeListener(event: string, listener: (...args: unknown[]) => void): Eip1193Provider;
}

type ProviderOptions = Approver & { rpcUrl: string; chainId: number; address?: Address; fetch?: typeof fetch } & EvmLimits;

/**
 * An EIP-1193 provider for one wallet's EVM account 0 (or `address`) on one
 * chain: accounts, chain id, personal_sign, eth_signTypedData_v4,
 * eth_signTransaction and eth_sendTransaction (nonce, gas and fees filled from
 * `rpcUrl`, the app's node) go through the enclave; eth_sign (a bare hash) is
 * refused; other calls go to `rpcUrl`. Nonce, gas and fees a dapp passes are
 * held to the bounds of `checkEvmLimits` (`maxFeePerGas`, `maxGas`) before
 * the user is asked for the PIN. Emits `connect` once it has the account.
 */
export function toEip1193Provider(client: EnclaveWalletClient, walletId: string, options: ProviderOptions): Eip1193Provider {
  return new EvmProvider(client, walletId, options);
}

const same = (a: unknown, b: string): boolean => typeof a === 'string' && a.toLowerCase() === b.toLowerCase();
const list = (params: unknown): unknown[] => (Array.isArray(params) ? params : []);
const big = (v: unknown): bigint | undefined => (v === undefined || v === null ? undefined : BigInt(v as string));

class EvmProvider implements Eip1193Provider {
  private readonly listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  private readonly chain: PublicClient;
  private readonly chainIdHex: Hex;
  private readonly ask: ReturnType<typeof approval>;
  private addressPromise: Promise<Address> | undefined;

  constructor(
    private readonly client: EnclaveWalletClient,
    private readonly walletId: string,
    private readonly options: ProviderOptions,
  ) {
    this.chain = createPublicClient({ transport: http(options.rpcUrl, options.fetch ? { fetchFn: options.fetch } : {}) });
    this.chainIdHex = toHex(options.chainId);
    this.ask = approval(options);
    // Dapp kits may call these detached from the provider (`const { request } = provider`).
    this.request = this.request.bind(this);
    this.on = this.on.bind(this);
    this.removeListener = this.removeListener.bind(this);
    void this.address().then(
      () => this.emit('connect', { chainId: this.chainIdHex }),
      (err: unknown) => this.emit('disconnect', new ProviderRpcError(4900, (err as Error).message)),
    );
  }

  async request({ method, params }: { method: string; params?: unknown[] | Record<string, unknown> }): Promise<unknown> {
    try {
      return await this.dispatch(method, params);
    } catch (err) {
      throw providerError(err);
    }
  }

  on(event: string, listener: (...args: unknown[]) => void): Eip1193Provider {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(listener);
    return this;
  }

  removeListener(event: string, listener: (...args: unknown[]) => void): Eip1193Provider {
    this.listeners.get(event)?.delete(listener);
    return this;
  }

  private emit(event: string, ...args: unknown[]): void {
    this.listeners.get(event)?.forEach((l) => l(...args));
  }

  private address(): Promise<Address> {
    return (this.addressPromise ??= this.client.accountAddress(this.walletId, 'evm', this.options.address).then((a) => a as Address));
  }

  private async dispatch(method: string, params: unknown): Promise<unknown> {
    switch (method) {
      case 'eth_accounts':
      case 'eth_requestAccounts':
        return [await this.address()];
      case 'eth_chainId':
        return this.chainIdHex;
      case 'net_version':
        return String(this.options.chainId);
      case 'eth_sign':
        throw new ProviderRpcError(4200, 'eth_sign signs a bare hash; this wallet signs only what it can read (use personal_sign)');
      case 'personal_sign':
        return this.personalSign(list(params) as [string, string]);
      case 'eth_signTypedData_v4':
        return this.signTypedData(list(params) as [string, string | Record<string, unknown>]);
      case 'eth_signTransaction':
      case 'eth_sendTransaction': {
        const tx = await this.checked((list(params)[0] ?? {}) as Record<string, unknown>);
        const { signedTransaction } = await signEvmTransaction(this.client, this.walletId, tx, { ...this.ask, address: await this.address() });
        if (method === 'eth_signTransaction') return signedTransaction;
        return await this.chain.sendRawTransaction({ serializedTransaction: signedTransaction });
      }
      case 'wallet_switchEthereumChain': {
        const [{ chainId }] = list(params) as [{ chainId: string }];
        if (BigInt(chainId) !== BigInt(this.options.chainId)) throw new ProviderRpcError(4902, 'this provider serves one chain');
        return null;
      }
      default:
        // Reads go to the node.
        return await this.chain.request({ method, params } as never);
    }
  }

  private async personalSign([data, who]: [string, string]): Promise<Hex> {
    if (!same(who, await this.address())) throw new ProviderRpcError(4100, 'personal_sign for another account');
    const message = /^0x([0-9a-fA-F]{2})*$/.test(data) ? { raw: data as Hex } : String(data);
    return this.client.signEvmMessage(this.walletId, message, { ...this.ask, address: await this.address() });
  }

  private async signTypedData([who, json]: [string, string | Record<string, unknown>]): Promise<Hex> {
    if (!same(who, await this.address())) throw new ProviderRpcError(4100, 'eth_signTypedData_v4 for another account');
    const typedData = (typeof json === 'string' ? JSON.parse(json) : json) as TypedDataDefinition;
    return signTypedData(this.client, this.walletId, typedData, { ...this.ask, address: await this.address() });
  }

  /** A dapp's transaction, filled where it left fields out, and held to the bounds (nonce, gas, fee) before any PIN is asked. */
  private async checked(txParam: Record<string, unknown>): Promise<TransactionSerializable> {
    const tx = await this.fill(txParam);
    await checkEvmLimits(this.chain, this.options.chainId, await this.address(), tx, {
      ...(this.options.maxFeePerGas !== undefined ? { maxFeePerGas: this.options.maxFeePerGas } : {}),
      ...(this.options.maxGas !== undefined ? { maxGas: this.options.maxGas } : {}),
    });
    return tx;
  }

  private async fill(txParam: Record<string, unknown>): Promise<TransactionSerializable> {
    const from = await this.address();
    if (txParam.from !== undefined && !same(txParam.from, from)) throw new ProviderRpcError(4100, 'the transaction is not from this account');
    if (txParam.chainId !== undefined && BigInt(txParam.chainId as string) !== BigInt(this.options.chainId))
      throw new ProviderRpcError(4901, 'the transaction is for another chain');
    const to = txParam.to as Address | undefined;
    const value = big(txParam.value) ?? 0n;
    const data = txParam.data as Hex | undefined;
    const nonce =
      txParam.nonce !== undefined ? Number(BigInt(txParam.nonce as string)) : await this.chain.getTransactionCount({ address: from, blockTag: 'pending' });
    const gas = big(txParam.gas) ?? (await this.chain.estimateGas({ account: from, ...(to ? { to } : {}), value, ...(data ? { data } : {}) }));
    const base = { chainId: this.options.chainId, nonce, gas, value, ...(to ? { to } : {}), ...(data ? { data } : {}) };
    if (txParam.gasPrice !== undefined) return { ...base, type: 'legacy', gasPrice: big(txParam.gasPrice)! };
    const block = await this.chain.getBlock({ blockTag: 'latest' });
    if (block.baseFeePerGas === null || block.baseFeePerGas === undefined) return { ...base, type: 'legacy', gasPrice: await this.chain.getGasPrice() };
    const fees = await this.chain.estimateFeesPerGas();
    return {
      ...base,
      type: 'eip1559',
      maxFeePerGas: big(txParam.maxFeePerGas) ?? fees.maxFeePerGas,
      maxPriorityFeePerGas: big(txParam.maxPriorityFeePerGas) ?? fees.maxPriorityFeePerGas,
    };
  }
}

/** Any failure as EIP-1193 / EIP-1474 sees it. */
function providerError(err: unknown): ProviderRpcError {
  if (err instanceof ProviderRpcError) return err;
  // The user closed the passkey prompt: EIP-1193's "user rejected the request".
  if (err instanceof EnclaveWalletApiError && err.code === 'PASSKEY_CANCELLED') return new ProviderRpcError(4001, err.message, { code: err.code });
  // No answer from the API (the network, or the call's deadline: its outcome then not known): EIP-1474's "resource
  // unavailable", not a rejection, with the SDK's code as data.
  if (err instanceof EnclaveWalletApiError && (err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT'))
    return new ProviderRpcError(-32002, `${err.code}: ${err.message}`, { code: err.code });
  // The SDK's refusals (a bound, a mismatch): an EIP-1474 "transaction rejected", with the SDK's code as data.
  if (err instanceof EnclaveWalletApiError && err.status === 0) return new ProviderRpcError(-32003, `${err.code}: ${err.message}`, { code: err.code });
  const e = err as { code?: unknown; message?: string; data?: unknown };
  return new ProviderRpcError(typeof e.code === 'number' ? e.code : -32603, e.message ?? 'internal error', e);
}

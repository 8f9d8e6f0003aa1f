/**
 * The app's own chain nodes (`ClientOptions.rpc`): what the SDK reads itself,
 * never from the (untrusted) host, before it approves a transaction the host
 * prepared. Solana: that the recent blockhash is valid on the cluster the app
 * asked for (Solana messages carry no chain id: the blockhash is what ties a
 * transaction to one cluster). EVM reads are in evm.ts (through viem).
 *
 * No error message quotes a node's URL (it may hold an API key).
 */
import { deadline, within } from './deadline.js';
import { EnclaveWalletApiError } from './errors.js';

/** Nodes the app chose, by EVM chain id and Solana cluster name. */
export interface RpcNodes {
  /** EVM chain id → JSON-RPC URL. */
  evm?: Readonly<Record<number, string>>;
  /** Solana cluster name (`mainnet-beta`, `devnet`, `localnet`, …) → JSON-RPC URL. */
  solana?: Readonly<Record<string, string>>;
}

/** No node is configured for the chain: the SDK does not approve what it cannot check (and never trusts the host instead). */
export const rpcNotConfigured = (what: string, option: string): EnclaveWalletApiError =>
  new EnclaveWalletApiError({
    code: 'RPC_NOT_CONFIGURED',
    message: `no node of the app's for ${what}: set ${option} in createClient (the host's answers are not trusted); nothing was signed`,
    status: 0,
  });

/** The app's node failed or answered nonsense. */
export const nodeError = (what: string, cause?: unknown): EnclaveWalletApiError =>
  new EnclaveWalletApiError({ code: 'RPC_ERROR', message: `the app's node ${what}; nothing was signed`, status: 0, ...(cause !== undefined ? { cause } : {}) });

let rpcId = 0;

/** How long one call to the app's Solana node may take (as viem's HTTP transport gives an EVM node by default). */
export const SOLANA_NODE_TIMEOUT_MS = 10_000;

/** One Solana JSON-RPC call to the app's node. */
export async function solanaRpc<T>(fetcher: typeof fetch, url: string, method: string, params: unknown[], timeoutMs = SOLANA_NODE_TIMEOUT_MS): Promise<T> {
  let body: { result?: T; error?: { message?: unknown } };
  const limit = deadline(timeoutMs);
  try {
    const res = await within(
      fetcher(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
        signal: limit.signal,
      }),
      limit.signal,
    );
    if (!res.ok) throw nodeError(`for the cluster answered HTTP ${res.status} to ${method}`);
    body = (await within(res.json(), limit.signal)) as typeof body;
  } catch (err) {
    if (err instanceof EnclaveWalletApiError) throw err;
    // Never quote the error: it may name the URL.
    throw nodeError(
      limit.signal.aborted ? `for the cluster did not answer ${method} within ${timeoutMs / 1000} s` : `for the cluster could not be reached (${method})`,
    );
  } finally {
    limit.clear();
  }
  if (body?.error) throw nodeError(`for the cluster refused ${method}: ${String(body.error.message ?? 'error')}`);
  if (!body || !('result' in body)) throw nodeError(`for the cluster answered ${method} without a result`);
  return body.result as T;
}

/**
 * Refuses a Solana transaction whose recent blockhash the app's node for
 * `cluster` does not hold as valid (`isBlockhashValid`, commitment
 * `confirmed`): a blockhash of another cluster (the host swapping devnet for
 * mainnet-beta), or one too old to land.
 */
export async function checkBlockhashOnCluster(
  fetcher: typeof fetch,
  url: string,
  cluster: string,
  blockhash: string,
  timeoutMs = SOLANA_NODE_TIMEOUT_MS,
): Promise<void> {
  const answer = await solanaRpc<{ value?: unknown }>(fetcher, url, 'isBlockhashValid', [blockhash, { commitment: 'confirmed' }], timeoutMs);
  if (typeof answer?.value !== 'boolean') throw nodeError('for the cluster answered isBlockhashValid with something else than a boolean');
  if (!answer.value) {
    throw new EnclaveWalletApiError({
      code: 'BLOCKHASH_NOT_ON_CLUSTER',
      message: `the transaction's recent blockhash is not valid on ${cluster} according to the app's node (another cluster's, or expired); nothing was signed`,
      status: 0,
    });
  }
}

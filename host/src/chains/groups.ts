/** Balance reads go out in groups, so that one wallet's request never fans out at once into hundreds of node calls. */

/** Accounts whose balances are read at once (each costs 1 + 3 × tokens EVM calls, or 2 Solana calls). */
export const BALANCE_ACCOUNTS_AT_ONCE = 8;
/** Calls per EVM JSON-RPC batch request at most. */
export const EVM_BATCH_SIZE = 64;

/** `fn` over `items`, `size` at a time (a group after the other), results in order. */
export async function inGroups<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

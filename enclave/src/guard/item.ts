/**
 * The guard item as DynamoDB holds it (the layout is in guard.ts) and back: a record read from an item, and the
 * encoding of a budget's guesses ("p:<ms>" pending, "f:<ms>" failed, under their tokens).
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';
import { lockoutMs, type Guess } from './budget.js';
import type { AttributeValue, Item } from './dynamodb.js';
import { NO_GUESSES, type CarriedClears, type Factor, type GuardRecord } from './record.js';

const S = (s: string): AttributeValue => ({ S: s });
export const guessValue = (g: Guess): AttributeValue => S(`${g.state === 'pending' ? 'p' : 'f'}:${g.at}`);
export const guessesItem = (guesses: ReadonlyMap<string, Guess>): AttributeValue => ({
  M: Object.fromEntries([...guesses].map(([t, g]) => [t, guessValue(g)])),
});

export function unreadable(what: string): EnclaveWalletError {
  return new EnclaveWalletError('GUARD_UNAVAILABLE', `the guard record of this wallet is unreadable (${what})`);
}

export function readGuesses(value: AttributeValue): ReadonlyMap<string, Guess> {
  if (!('M' in value)) throw unreadable('guesses');
  const entries = Object.entries(value.M);
  if (entries.length === 0) return NO_GUESSES;
  const out = new Map<string, Guess>();
  for (const [token, v] of entries) {
    const m = 'S' in v ? /^([pf]):(\d{1,15})$/.exec(v.S) : null;
    if (!m) throw unreadable('guesses');
    out.set(token, { state: m[1] === 'p' ? 'pending' : 'failed', at: Number(m[2]) });
  }
  return out;
}

/** The guesses of a record written before guesses were counted by token: its failure count, as failures at one time. */
export function legacyGuesses(failed: number, lockedUntil: number, updatedAt: number): Map<string, Guess> {
  const at = lockedUntil > 0 ? Math.max(0, lockedUntil - lockoutMs(failed)) : updatedAt;
  return new Map(Array.from({ length: failed }, (_, i) => [`legacy-${i}`, { state: 'failed', at }] as const));
}

/** The record an item holds. @throws GUARD_UNAVAILABLE when it is incomplete or unreadable */
export function recordFromItem(walletId: WalletId, item: Item): GuardRecord {
  const field = (k: string): AttributeValue | undefined => item[k];
  const str = (k: string): string | undefined => {
    const v = field(k);
    return v && 'S' in v ? v.S : undefined;
  };
  const num = (k: string): number => {
    const v = field(k);
    const n = v && 'N' in v ? Number(v.N) : NaN;
    if (!Number.isSafeInteger(n) || n < 0) throw unreadable(k);
    return n;
  };
  const b = field('blob');
  const blob = b && 'B' in b ? b.B : undefined;
  const owner = str('owner');
  const keyRef = str('keyRef');
  if (!blob?.length || !owner || !keyRef) throw new EnclaveWalletError('GUARD_UNAVAILABLE', 'the guard record of this wallet is incomplete');
  const g = field('guesses');
  const legacy = g === undefined;
  const guesses = g ? readGuesses(g) : legacyGuesses(num('failed'), num('lockedUntil'), field('updatedAt') ? num('updatedAt') : 0);
  const cg = field('codeGuesses');
  const pg = field('passkeyGuesses');
  const used: Record<string, number> = {};
  const counters: Record<string, number> = {};
  for (const k of Object.keys(item)) {
    if (k.startsWith('used:')) used[k.slice(5)] = num(k);
    if (k.startsWith('ctr:')) counters[k.slice(4)] = num(k);
  }
  return {
    walletId,
    owner: owner as UserId, // only enclaves write the item, from a checked id
    keyRef,
    version: num('version'),
    blob,
    guesses,
    codeGuesses: cg ? readGuesses(cg) : NO_GUESSES,
    passkeyGuesses: pg ? readGuesses(pg) : NO_GUESSES,
    used,
    counters,
    rev: str('rev') ?? '',
    legacy,
  };
}

/**
 * The parts of a count's update that clear carried right guesses: REMOVE their tokens and the failures they saw
 * (each once), every one of them required to be there still (so the budget condition can count them as gone:
 * `size < max + removed`), and the factor's last use set. A token another write removed fails the condition; the
 * enclave reads the item again and carries only what is left.
 */
export function carriedClears(
  attr: string,
  factor: Factor,
  token: string,
  carry: CarriedClears | undefined,
): { remove: string; set: string; condition: string; removed: number; values: Item; names: Record<string, string> } {
  if (!carry || carry.tokens.length === 0) return { remove: '', set: '', condition: '', removed: 0, values: {}, names: {} };
  // Plain loops and strings: the count's write runs once per signature on the enclave's core, and `map` and `join`
  // over arrays of each length V8 first saw after optimising it made it compile the count again (docs/performance.md).
  const gone = new Set<string>();
  for (const t of carry.tokens) if (t !== token) gone.add(t);
  for (const t of carry.failures) if (t !== token) gone.add(t);
  const names: Record<string, string> = { '#used': `used:${factor}` };
  let remove = '';
  let condition = '';
  let i = 0;
  for (const t of gone) {
    names[`#c${i}`] = t;
    remove += `${i ? ', ' : 'REMOVE '}${attr}.#c${i}`;
    condition += ` AND attribute_exists(${attr}.#c${i})`;
    i++;
  }
  return {
    remove: i ? `${remove} ` : '',
    set: ', #used = :usedAt',
    condition,
    removed: i,
    values: { ':usedAt': { N: String(carry.usedAt) } },
    names,
  };
}

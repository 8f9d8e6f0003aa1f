/**
 * The guard: per-wallet state the host cannot write, in a DynamoDB table that
 * only enclaves write (docs/guard.md). One item per wallet:
 *
 *   pk          "wallet#<walletId>"
 *   owner       the user id the wallet belongs to
 *   keyRef      hex SHA-256 of the wallet's KMS CiphertextBlob: the data key
 *               this wallet is sealed under (a second blob minted for the same
 *               wallet id under another data key is refused)
 *   version     the current blob version (create/import: 1; each PIN change +1)
 *   blob        the current sealed blob, written with its version
 *   guesses     the PIN guesses counted and not cleared: token → "p:<ms>"
 *               (pending since) or "f:<ms>" (failed at); see budget.ts
 *   codeGuesses the same for recovery codes (a budget of its own)
 *   passkeyGuesses the same for passkey assertions (a budget of its own, shared by the wallet's passkeys)
 *   used:<kind> Unix ms a factor of that kind last opened the wallet
 *   ctr:<hex>   the highest WebAuthn signature counter accepted from the credential whose id hashes (SHA-256) to
 *               <hex>; only ever raised, by a write conditional on it being lower
 *   rev         a random tag that every write changes
 *
 * The enclave reaches DynamoDB with credentials that exist in plaintext only
 * inside it (the host hands over their KMS ciphertext), over TLS made inside
 * the enclave, through a lean client of its own (dynamodb.ts). Every write is conditional on what was read, so two enclaves
 * never lose each other's updates. Any failure to read or write is
 * GUARD_UNAVAILABLE: the operation fails closed.
 */
import { randomBytes } from 'node:crypto';
import { EnclaveWalletError, parseAddress } from '@enclave-wallet/proto';
import type { WalletId } from '@enclave-wallet/proto/ids';
import { MAX_PIN_ATTEMPTS, type Guess } from './budget.js';
import { DynamoDb, DynamoDbError, type AttributeValue, type Item } from './dynamodb.js';
import type { GuardConfig } from '../config.js';
import type { AwsCredentials } from '../kms/client.js';
import { connectThroughProxy } from '../kms/vsock-agent.js';
import { carriedClears, guessesItem, guessValue, readGuesses, recordFromItem, unreadable } from './item.js';
import {
  BUDGET_ATTRIBUTE,
  GuardConflict,
  type CarriedClears,
  type CounterRaise,
  type Factor,
  type GuardRecord,
  type NewGuardRecord,
  type WalletGuard,
} from './record.js';

export { legacyGuesses } from './item.js';
export {
  counterRefuses,
  createdRecord,
  GuardConflict,
  type CarriedClears,
  guessesOf,
  NO_GUESSES,
  withGuesses,
  withoutGuesses,
  type CounterRaise,
  type Factor,
  type GuardRecord,
  type NewGuardRecord,
  type WalletGuard,
} from './record.js';

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });
const pk = (walletId: WalletId): Item => ({ pk: S(`wallet#${walletId}`) });
const isConditionFailure = (err: unknown): boolean => err instanceof DynamoDbError && err.name === 'ConditionalCheckFailedException';
/** A fresh tag for the item's `rev`. */
const newRev = (): string => randomBytes(8).toString('hex');
/** A guess in the item: `p:<ms>` pending since, `f:<ms>` failed at. */

/** The failures of an item from before tokens, under made-up tokens, dated so that its lock-out ends when it did. */

function unavailable(err: unknown): EnclaveWalletError {
  if (err instanceof EnclaveWalletError) return err;
  const name = (err as Error)?.name ?? 'Error';
  return new EnclaveWalletError('GUARD_UNAVAILABLE', `the guard table failed (${name}); nothing was done`);
}

/** Failures one clear write removes at most: each adds `<attribute>.#fN, ` to the expression (13–21 bytes; 100 of them and the
 * rest of the write stay under DynamoDB's 4 KB for the longest attribute, passkeyGuesses: guard-clear.test.ts). */
export const CLEAR_CHUNK = 100;

/** The guard on DynamoDB (dynalite locally). */
export class DynamoGuard implements WalletGuard {
  private readonly client: DynamoDb;

  constructor(
    private readonly config: Omit<GuardConfig, 'credentialsCiphertext'>,
    credentials: AwsCredentials,
  ) {
    if (config.proxy) parseAddress(config.proxy); // a bad address fails here, not at each connection
    this.client = new DynamoDb({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      credentials,
      ...(config.proxy
        ? {
            connect: (servername: string, signal: AbortSignal) =>
              connectThroughProxy({ proxy: config.proxy!, ...(config.ca ? { tls: { ca: [...config.ca] } } : {}) }, servername, signal),
          }
        : {}),
      timeoutMs: 5000,
    });
  }

  async get(walletId: WalletId): Promise<GuardRecord | undefined> {
    let item: Item | undefined;
    try {
      item = await this.client.getItem(this.config.table, pk(walletId));
    } catch (err) {
      throw unavailable(err);
    }
    return item && recordFromItem(walletId, item);
  }

  async create(r: NewGuardRecord): Promise<void> {
    try {
      await this.client.putItem(
        this.config.table,
        {
          ...pk(r.walletId),
          owner: S(r.owner),
          keyRef: S(r.keyRef),
          version: N(r.version),
          blob: { B: r.blob },
          guesses: guessesItem(r.guesses),
          codeGuesses: { M: {} },
          passkeyGuesses: { M: {} },
          rev: S(newRev()),
          updatedAt: N(Date.now()),
        },
        'attribute_not_exists(pk)',
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new EnclaveWalletError('WALLET_EXISTS', 'a wallet with this id already exists');
      throw unavailable(err);
    }
  }

  async admit(
    walletId: WalletId,
    read: GuardRecord,
    token: string,
    at: number,
    mode: 'budget' | 'exact',
    factor: Factor = 'pin',
    raise?: CounterRaise,
    carry?: CarriedClears,
  ): Promise<ReadonlyMap<string, Guess>> {
    const pending: Guess = { state: 'pending', at };
    const attr = BUDGET_ATTRIBUTE[factor];
    let after: Item | undefined;
    if (read.legacy && factor === 'pin') {
      // The first guess on an item from before tokens writes its failures as guesses, if it is still as read.
      const legacy = [...read.guesses.values()];
      after = await this.update(
        walletId,
        'SET guesses = :all, rev = :rev, updatedAt = :now REMOVE failed, lockedUntil',
        'attribute_not_exists(guesses) AND version = :v AND failed = :f',
        { ':all': guessesItem(new Map([...read.guesses, [token, pending]])), ':v': N(read.version), ':f': N(legacy.length) },
        {},
        attr,
      );
    } else {
      // The counter is decided by this write: a non-zero one is raised only if the stored one is lower; a zero is
      // taken only while the stored one is zero (or unset), whatever this enclave last read.
      const counter = raise ? (raise.value === 0 ? ' AND (attribute_not_exists(#ctr) OR #ctr = :n)' : ' AND (attribute_not_exists(#ctr) OR #ctr < :n)') : '';
      const carried = carriedClears(attr, factor, token, carry);
      after = await this.update(
        walletId,
        `${carried.remove}SET ${attr}.#t = :g, rev = :rev, updatedAt = :now${raise && raise.value > 0 ? ', #ctr = :n' : ''}${carried.set}`,
        (mode === 'budget' ? `version = :v AND size(${attr}) < :max AND attribute_not_exists(${attr}.#t)` : 'version = :v AND rev = :r') +
          counter +
          carried.condition,
        {
          ':g': guessValue(pending),
          ':v': N(read.version),
          // The carried right guesses leave with this write: the budget is checked as they leave it.
          ...(mode === 'budget' ? { ':max': N(MAX_PIN_ATTEMPTS + carried.removed) } : { ':r': S(read.rev) }),
          ...(raise ? { ':n': N(raise.value) } : {}),
          ...carried.values,
        },
        { '#t': token, ...(raise ? { '#ctr': `ctr:${raise.key}` } : {}), ...carried.names },
        attr,
      );
    }
    const map = after?.[attr];
    if (!map) throw unreadable(attr);
    return readGuesses(map);
  }

  async fail(walletId: WalletId, token: string, at: number, factor: Factor = 'pin'): Promise<ReadonlyMap<string, Guess> | undefined> {
    const attr = BUDGET_ATTRIBUTE[factor];
    try {
      const after = await this.update(
        walletId,
        `SET ${attr}.#t = :g, rev = :rev, updatedAt = :now`,
        `attribute_exists(${attr}.#t)`,
        { ':g': guessValue({ state: 'failed', at }) },
        { '#t': token },
        attr,
      );
      const map = after?.[attr];
      return map ? readGuesses(map) : undefined;
    } catch (err) {
      if (err instanceof GuardConflict) return undefined; // cleared meanwhile (it had expired and a right PIN removed it)
      throw err;
    }
  }

  async clear(walletId: WalletId, token: string, failures: readonly string[], factor: Factor = 'pin', at = Date.now()): Promise<void> {
    // Each failure removed adds a path to the expression, and DynamoDB's end at 4 KB: a wallet locked again and again
    // (one guess a day for months) can have more. Those beyond the first chunk leave first, in writes of their own,
    // each conditional on the right guess still being counted; the last write removes it with the first chunk.
    for (let i = CLEAR_CHUNK; i < failures.length; i += CLEAR_CHUNK)
      await this.removeGuesses(walletId, factor, token, failures.slice(i, i + CLEAR_CHUNK), undefined);
    await this.removeGuesses(walletId, factor, token, failures.slice(0, CLEAR_CHUNK), at);
  }

  /** REMOVEs `failures` while the right guess `token` is still counted; with `usedAt`, `token` itself too, and `used:<factor>`. */
  private async removeGuesses(walletId: WalletId, factor: Factor, token: string, failures: readonly string[], usedAt: number | undefined): Promise<void> {
    const attr = BUDGET_ATTRIBUTE[factor];
    const names: Record<string, string> = { '#t': token };
    let removed = usedAt === undefined ? '' : `${attr}.#t`;
    for (let i = 0; i < failures.length; i++) {
      names[`#f${i}`] = failures[i]!;
      removed += `${removed ? ', ' : ''}${attr}.#f${i}`;
    }
    if (usedAt !== undefined) names['#used'] = `used:${factor}`;
    await this.update(
      walletId,
      `REMOVE ${removed} SET rev = :rev, updatedAt = :now${usedAt === undefined ? '' : ', #used = :at'}`,
      `attribute_exists(${attr}.#t)`,
      usedAt === undefined ? {} : { ':at': N(usedAt) },
      names,
    );
  }

  async advance(
    walletId: WalletId,
    fromVersion: number,
    next: Pick<GuardRecord, 'version' | 'blob' | 'keyRef'>,
    reset: 'none' | 'codes' | 'all' = 'none',
  ): Promise<void> {
    const budgets =
      reset === 'all'
        ? 'guesses = :empty, codeGuesses = :empty, passkeyGuesses = :empty'
        : reset === 'codes'
          ? 'codeGuesses = :empty, passkeyGuesses = if_not_exists(passkeyGuesses, :empty)'
          : 'codeGuesses = if_not_exists(codeGuesses, :empty), passkeyGuesses = if_not_exists(passkeyGuesses, :empty)';
    await this.update(walletId, `SET version = :nv, #blob = :b, keyRef = :k, ${budgets}, rev = :rev, updatedAt = :now`, 'version = :v', {
      ':nv': N(next.version),
      ':b': { B: next.blob },
      ':k': S(next.keyRef),
      ':v': N(fromVersion),
      ':empty': { M: {} },
    });
  }

  async raiseCounter(walletId: WalletId, credentialKey: string, value: number): Promise<boolean> {
    try {
      await this.update(
        walletId,
        'SET #ctr = :n, rev = :rev, updatedAt = :now',
        '(attribute_not_exists(#ctr) OR #ctr < :n)',
        { ':n': N(value) },
        { '#ctr': `ctr:${credentialKey}` },
      );
      return true;
    } catch (err) {
      if (err instanceof GuardConflict) return false;
      throw err;
    }
  }

  private async update(
    walletId: WalletId,
    expression: string,
    condition: string,
    values: Item,
    names: Record<string, string> = {},
    /** An attribute's name: answers the item as the write left it, with only that attribute (see DynamoDb.updateItem). */
    returnAttribute?: string,
  ): Promise<Item | undefined> {
    // The values and names are copied by loops, and the update always has the same fields: spreads of objects whose
    // keys differ by write, and an update with or without `returnNew`, made V8 compile the count again for each new
    // combination it met (docs/performance.md, twenty-fourth look). The fixed values go first, into an object of one
    // shape, and the caller's after them: stored after the caller's keys, they met an object whose shape followed
    // those keys, and V8 threw the count's code away when a load with other keys came (the twenty-sixth look). A
    // caller's `:rev` or `:now` is never taken: a fresh revision and the time, whatever it passed.
    const allValues: Item = { ':rev': S(newRev()), ':now': N(Date.now()) };
    for (const k in values) if (k !== ':rev' && k !== ':now') allValues[k] = values[k]!;
    const allNames: Record<string, string> = {};
    for (const k in names) allNames[k] = names[k]!;
    if (expression.includes('#blob')) allNames['#blob'] = 'blob'; // BLOB is a DynamoDB reserved word.
    try {
      return await this.client.updateItem(this.config.table, pk(walletId), {
        expression,
        condition: `attribute_exists(pk) AND ${condition}`,
        values: allValues,
        names: allNames,
        returnNew: returnAttribute !== undefined,
        only: returnAttribute,
      });
    } catch (err) {
      if (isConditionFailure(err)) throw new GuardConflict('the guard record changed');
      throw unavailable(err);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

/** Parses the decrypted guard credentials (JSON `{ accessKeyId, secretAccessKey, sessionToken? }`). Zeroes the input. */
export function parseGuardCredentials(plaintext: Uint8Array): AwsCredentials {
  try {
    const json = JSON.parse(new TextDecoder().decode(plaintext)) as Record<string, unknown>;
    if (typeof json.accessKeyId !== 'string' || typeof json.secretAccessKey !== 'string' || !json.accessKeyId || !json.secretAccessKey)
      throw new Error('fields');
    return {
      accessKeyId: json.accessKeyId,
      secretAccessKey: json.secretAccessKey,
      ...(typeof json.sessionToken === 'string' && json.sessionToken ? { sessionToken: json.sessionToken } : {}),
    };
  } catch {
    throw new EnclaveWalletError('CONFIG_REJECTED', 'the guard credentials do not decrypt to { accessKeyId, secretAccessKey }');
  } finally {
    plaintext.fill(0);
  }
}

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
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { lockoutMs, MAX_PIN_ATTEMPTS, type Guess } from './budget.js';
import { DynamoDb, DynamoDbError, type AttributeValue, type Item } from './dynamodb.js';
import type { GuardConfig } from '../config.js';
import type { AwsCredentials } from '../kms/client.js';
import { createVsockHttpsAgent } from '../kms/vsock-agent.js';

export interface GuardRecord {
  walletId: string;
  owner: string;
  keyRef: string;
  version: number;
  blob: Uint8Array;
  /** The PIN guesses counted and not cleared, by token (budget.ts). */
  guesses: ReadonlyMap<string, Guess>;
  /** The recovery-code guesses, a budget of their own (empty on items from before recovery codes). */
  codeGuesses: ReadonlyMap<string, Guess>;
  /** The passkey assertions counted, a budget of their own (empty on items from before passkeys). */
  passkeyGuesses?: ReadonlyMap<string, Guess>;
  /** When a factor of each kind last opened the wallet (`pin`, `recovery-code`, `passkey`), Unix ms. */
  used: Readonly<Record<string, number>>;
  /** The highest WebAuthn signature counter accepted per credential (hex SHA-256 of its id); absent when none. */
  counters?: Readonly<Record<string, number>>;
  /** A random tag every write sets: the one guess after a lock-out is counted only if nothing changed since it was read. */
  rev: string;
  /**
   * An item written before guesses had tokens (`failed`, `lockedUntil` numbers): `guesses` holds its failures
   * under made-up tokens, and the first guess counted converts the item.
   */
  legacy: boolean;
}

/** A guard record as created: its guesses (none, or a layout-1 blob's carried-over failures). */
export type NewGuardRecord = Pick<GuardRecord, 'walletId' | 'owner' | 'keyRef' | 'version' | 'blob' | 'guesses'>;

/** Which factor's budget a guess counts against. */
export type Factor = 'pin' | 'recovery-code' | 'passkey';
const BUDGET_ATTRIBUTE: Record<Factor, string> = { pin: 'guesses', 'recovery-code': 'codeGuesses', passkey: 'passkeyGuesses' };
/** The guesses of `factor` in a record. */
export const guessesOf = (record: Pick<GuardRecord, 'guesses' | 'codeGuesses' | 'passkeyGuesses'>, factor: Factor): ReadonlyMap<string, Guess> =>
  factor === 'pin' ? record.guesses : factor === 'recovery-code' ? record.codeGuesses : (record.passkeyGuesses ?? new Map());
/** `record` with the guesses of `factor` replaced. */
export const withGuesses = (record: GuardRecord, factor: Factor, guesses: ReadonlyMap<string, Guess>): GuardRecord => ({
  ...record,
  ...(factor === 'pin' ? { guesses } : factor === 'recovery-code' ? { codeGuesses: guesses } : { passkeyGuesses: guesses }),
});

/**
 * A passkey's signature counter raised by the same write that counts its guess (docs/guard.md): the write is
 * also conditional on the stored counter being lower.
 */
export interface CounterRaise {
  /** Hex SHA-256 of the credential id. */
  key: string;
  value: number;
}

/** A conditional write lost to a concurrent one; the caller re-reads. */
export class GuardConflict extends Error {
  override readonly name = 'GuardConflict';
}

/** What sealing needs from the guard. */
export interface WalletGuard {
  get(walletId: string): Promise<GuardRecord | undefined>;
  /** @throws WALLET_EXISTS when the wallet id is taken */
  create(record: NewGuardRecord): Promise<void>;
  /**
   * Counts a guess as pending under `token`, before its answer exists. `budget`: if fewer than
   * MAX_PIN_ATTEMPTS guesses are counted and the version is still `read.version`; `exact`: if the record is still
   * `read` (its rev). A legacy record is converted by the same write, if still as read. Returns the guesses as
   * this write left them. @throws GuardConflict
   */
  admit(
    walletId: string,
    read: GuardRecord,
    token: string,
    at: number,
    mode: 'budget' | 'exact',
    factor?: Factor,
    raise?: CounterRaise,
  ): Promise<ReadonlyMap<string, Guess>>;
  /**
   * A wrong PIN: the guess `token` becomes a failure at `at`. Returns the guesses as this write left them, or
   * undefined if the token was gone (it expired and a right PIN removed it: then no answer may be given).
   */
  fail(walletId: string, token: string, at: number, factor?: Factor): Promise<ReadonlyMap<string, Guess> | undefined>;
  /**
   * A right PIN (or code): removes its guess `token` and the failures it saw before it; nothing else; and notes
   * when the factor was used. @throws GuardConflict if `token` is gone
   */
  clear(walletId: string, token: string, failures: readonly string[], factor?: Factor, at?: number): Promise<void>;
  /**
   * A new PIN, recovery code or secret: the next version and its blob, if the version is still `fromVersion`.
   * `reset`: 'all' empties both budgets (a PIN reset with the recovery code ends a lock-out), 'codes' the
   * recovery codes' (a new code made with the PIN). @throws GuardConflict
   */
  advance(walletId: string, fromVersion: number, next: Pick<GuardRecord, 'version' | 'blob' | 'keyRef'>, reset?: 'none' | 'codes' | 'all'): Promise<void>;
  /**
   * Raises the stored WebAuthn signature counter of credential `credentialKey` (hex SHA-256 of its id) to
   * `value`, if it is lower (or unset). Returns false, writing nothing, when the stored one is not lower.
   */
  raiseCounter(walletId: string, credentialKey: string, value: number): Promise<boolean>;
}

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });
const pk = (walletId: string): Item => ({ pk: S(`wallet#${walletId}`) });
const isConditionFailure = (err: unknown): boolean => err instanceof DynamoDbError && err.name === 'ConditionalCheckFailedException';
/** A fresh tag for the item's `rev`. */
const newRev = (): string => randomBytes(8).toString('hex');
/** A guess in the item: `p:<ms>` pending since, `f:<ms>` failed at. */
const guessValue = (g: Guess): AttributeValue => S(`${g.state === 'pending' ? 'p' : 'f'}:${g.at}`);
const guessesItem = (guesses: ReadonlyMap<string, Guess>): AttributeValue => ({ M: Object.fromEntries([...guesses].map(([t, g]) => [t, guessValue(g)])) });

function unreadable(what: string): EnclaveWalletError {
  return new EnclaveWalletError('GUARD_UNAVAILABLE', `the guard record of this wallet is unreadable (${what})`);
}

function readGuesses(value: AttributeValue): Map<string, Guess> {
  if (!('M' in value)) throw unreadable('guesses');
  const out = new Map<string, Guess>();
  for (const [token, v] of Object.entries(value.M)) {
    const m = 'S' in v ? /^([pf]):(\d{1,15})$/.exec(v.S) : null;
    if (!m) throw unreadable('guesses');
    out.set(token, { state: m[1] === 'p' ? 'pending' : 'failed', at: Number(m[2]) });
  }
  return out;
}

/** The failures of an item from before tokens, under made-up tokens, dated so that its lock-out ends when it did. */
export function legacyGuesses(failed: number, lockedUntil: number, updatedAt: number): Map<string, Guess> {
  const at = lockedUntil > 0 ? Math.max(0, lockedUntil - lockoutMs(failed)) : updatedAt;
  return new Map(Array.from({ length: failed }, (_, i) => [`legacy-${i}`, { state: 'failed', at }] as const));
}

function unavailable(err: unknown): EnclaveWalletError {
  if (err instanceof EnclaveWalletError) return err;
  const name = (err as Error)?.name ?? 'Error';
  return new EnclaveWalletError('GUARD_UNAVAILABLE', `the guard table failed (${name}); nothing was done`);
}

/** The guard on DynamoDB (dynalite locally). */
export class DynamoGuard implements WalletGuard {
  private readonly client: DynamoDb;

  constructor(
    private readonly config: Omit<GuardConfig, 'credentialsCiphertext'>,
    credentials: AwsCredentials,
  ) {
    this.client = new DynamoDb({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      credentials,
      ...(config.proxy ? { httpsAgent: createVsockHttpsAgent({ proxy: config.proxy, ...(config.ca ? { tls: { ca: [...config.ca] } } : {}) }) } : {}),
      timeoutMs: 5000,
    });
  }

  async get(walletId: string): Promise<GuardRecord | undefined> {
    let item: Item | undefined;
    try {
      item = await this.client.getItem(this.config.table, pk(walletId));
    } catch (err) {
      throw unavailable(err);
    }
    if (!item) return undefined;
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
      owner,
      keyRef,
      version: num('version'),
      blob,
      guesses,
      codeGuesses: cg ? readGuesses(cg) : new Map(),
      passkeyGuesses: pg ? readGuesses(pg) : new Map(),
      used,
      counters,
      rev: str('rev') ?? '',
      legacy,
    };
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
    walletId: string,
    read: GuardRecord,
    token: string,
    at: number,
    mode: 'budget' | 'exact',
    factor: Factor = 'pin',
    raise?: CounterRaise,
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
        true,
      );
    } else {
      const counter = raise ? ' AND (attribute_not_exists(#ctr) OR #ctr < :n)' : '';
      after = await this.update(
        walletId,
        `SET ${attr}.#t = :g, rev = :rev, updatedAt = :now${raise ? ', #ctr = :n' : ''}`,
        (mode === 'budget' ? `version = :v AND size(${attr}) < :max AND attribute_not_exists(${attr}.#t)` : 'version = :v AND rev = :r') + counter,
        {
          ':g': guessValue(pending),
          ':v': N(read.version),
          ...(mode === 'budget' ? { ':max': N(MAX_PIN_ATTEMPTS) } : { ':r': S(read.rev) }),
          ...(raise ? { ':n': N(raise.value) } : {}),
        },
        { '#t': token, ...(raise ? { '#ctr': `ctr:${raise.key}` } : {}) },
        true,
      );
    }
    const map = after?.[attr];
    if (!map) throw unreadable(attr);
    return readGuesses(map);
  }

  async fail(walletId: string, token: string, at: number, factor: Factor = 'pin'): Promise<ReadonlyMap<string, Guess> | undefined> {
    const attr = BUDGET_ATTRIBUTE[factor];
    try {
      const after = await this.update(
        walletId,
        `SET ${attr}.#t = :g, rev = :rev, updatedAt = :now`,
        `attribute_exists(${attr}.#t)`,
        { ':g': guessValue({ state: 'failed', at }) },
        { '#t': token },
        true,
      );
      const map = after?.[attr];
      return map ? readGuesses(map) : undefined;
    } catch (err) {
      if (err instanceof GuardConflict) return undefined; // cleared meanwhile (it had expired and a right PIN removed it)
      throw err;
    }
  }

  async clear(walletId: string, token: string, failures: readonly string[], factor: Factor = 'pin', at = Date.now()): Promise<void> {
    const attr = BUDGET_ATTRIBUTE[factor];
    const names: Record<string, string> = { '#t': token, '#used': `used:${factor}` };
    failures.forEach((f, i) => (names[`#f${i}`] = f));
    const removed = Object.keys(names)
      .filter((n) => n !== '#used')
      .map((n) => `${attr}.${n}`);
    await this.update(
      walletId,
      `REMOVE ${removed.join(', ')} SET rev = :rev, updatedAt = :now, #used = :at`,
      `attribute_exists(${attr}.#t)`,
      { ':at': N(at) },
      names,
    );
  }

  async advance(
    walletId: string,
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

  async raiseCounter(walletId: string, credentialKey: string, value: number): Promise<boolean> {
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
    walletId: string,
    expression: string,
    condition: string,
    values: Item,
    names: Record<string, string> = {},
    returnNew = false,
  ): Promise<Item | undefined> {
    try {
      return await this.client.updateItem(this.config.table, pk(walletId), {
        expression,
        condition: `attribute_exists(pk) AND ${condition}`,
        values: { ...values, ':rev': S(newRev()), ':now': N(Date.now()) },
        // BLOB is a DynamoDB reserved word.
        names: { ...names, ...(expression.includes('#blob') ? { '#blob': 'blob' } : {}) },
        ...(returnNew ? { returnNew } : {}),
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

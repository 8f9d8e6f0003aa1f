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
 *   failed      consecutive wrong PINs
 *   lockedUntil Unix ms until which no PIN is tried
 *
 * The enclave reaches DynamoDB with credentials that exist in plaintext only
 * inside it (the host hands over their KMS ciphertext), over TLS made inside
 * the enclave, through a lean client of its own (dynamodb.ts). Every write is conditional on what was read, so two enclaves
 * never lose each other's updates. Any failure to read or write is
 * GUARD_UNAVAILABLE: the operation fails closed.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
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
  failed: number;
  lockedUntil: number;
}

/** A conditional write lost to a concurrent one; the caller re-reads. */
export class GuardConflict extends Error {
  override readonly name = 'GuardConflict';
}

/** What sealing needs from the guard. */
export interface WalletGuard {
  get(walletId: string): Promise<GuardRecord | undefined>;
  /** @throws WALLET_EXISTS when the wallet id is taken */
  create(record: GuardRecord): Promise<void>;
  /** Counts one PIN guess before its answer is known. @throws GuardConflict */
  countGuess(walletId: string, read: Pick<GuardRecord, 'version' | 'failed'>, next: Pick<GuardRecord, 'failed' | 'lockedUntil'>): Promise<void>;
  /**
   * A right PIN: the count back to zero, if it is still `failed` (the count this guess wrote): a guess counted
   * since keeps its count, and a clear delivered late cannot erase later guesses. @throws GuardConflict
   */
  clear(walletId: string, version: number, failed: number): Promise<void>;
  /** A new PIN (or secret): the next version and its blob, counters cleared. @throws GuardConflict */
  advance(walletId: string, fromVersion: number, next: Pick<GuardRecord, 'version' | 'blob' | 'keyRef'>): Promise<void>;
}

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });
const pk = (walletId: string): Item => ({ pk: S(`wallet#${walletId}`) });
const isConditionFailure = (err: unknown): boolean => err instanceof DynamoDbError && err.name === 'ConditionalCheckFailedException';

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
      if (!Number.isSafeInteger(n) || n < 0) throw new EnclaveWalletError('GUARD_UNAVAILABLE', `the guard record of this wallet is unreadable (${k})`);
      return n;
    };
    const b = field('blob');
    const blob = b && 'B' in b ? b.B : undefined;
    const owner = str('owner');
    const keyRef = str('keyRef');
    if (!blob?.length || !owner || !keyRef) throw new EnclaveWalletError('GUARD_UNAVAILABLE', 'the guard record of this wallet is incomplete');
    return { walletId, owner, keyRef, version: num('version'), blob, failed: num('failed'), lockedUntil: num('lockedUntil') };
  }

  async create(r: GuardRecord): Promise<void> {
    try {
      await this.client.putItem(
        this.config.table,
        {
          ...pk(r.walletId),
          owner: S(r.owner),
          keyRef: S(r.keyRef),
          version: N(r.version),
          blob: { B: r.blob },
          failed: N(r.failed),
          lockedUntil: N(r.lockedUntil),
          updatedAt: N(Date.now()),
        },
        'attribute_not_exists(pk)',
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new EnclaveWalletError('WALLET_EXISTS', 'a wallet with this id already exists');
      throw unavailable(err);
    }
  }

  countGuess(walletId: string, read: Pick<GuardRecord, 'version' | 'failed'>, next: Pick<GuardRecord, 'failed' | 'lockedUntil'>): Promise<void> {
    return this.update(walletId, 'SET failed = :nf, lockedUntil = :nl, updatedAt = :now', 'version = :v AND failed = :f', {
      ':nf': N(next.failed),
      ':nl': N(next.lockedUntil),
      ':v': N(read.version),
      ':f': N(read.failed),
    });
  }

  clear(walletId: string, version: number, failed: number): Promise<void> {
    return this.update(walletId, 'SET failed = :zero, lockedUntil = :zero, updatedAt = :now', 'version = :v AND failed = :f', {
      ':zero': N(0),
      ':v': N(version),
      ':f': N(failed),
    });
  }

  advance(walletId: string, fromVersion: number, next: Pick<GuardRecord, 'version' | 'blob' | 'keyRef'>): Promise<void> {
    return this.update(walletId, 'SET version = :nv, #blob = :b, keyRef = :k, failed = :zero, lockedUntil = :zero, updatedAt = :now', 'version = :v', {
      ':nv': N(next.version),
      ':b': { B: next.blob },
      ':k': S(next.keyRef),
      ':zero': N(0),
      ':v': N(fromVersion),
    });
  }

  private async update(walletId: string, set: string, condition: string, values: Item): Promise<void> {
    try {
      await this.client.updateItem(this.config.table, pk(walletId), {
        set,
        condition: `attribute_exists(pk) AND ${condition}`,
        values: { ...values, ':now': N(Date.now()) },
        // BLOB is a DynamoDB reserved word.
        ...(set.includes('#blob') ? { names: { '#blob': 'blob' } } : {}),
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

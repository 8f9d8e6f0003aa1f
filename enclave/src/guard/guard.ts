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
 * the enclave. Every write is conditional on what was read, so two enclaves
 * never lose each other's updates. Any failure to read or write is
 * GUARD_UNAVAILABLE: the operation fails closed.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EnclaveWalletError } from '@enclave-wallet/proto';
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
  /** A right PIN: the count back to zero. @throws GuardConflict */
  clear(walletId: string, version: number): Promise<void>;
  /** A new PIN (or secret): the next version and its blob, counters cleared. @throws GuardConflict */
  advance(walletId: string, fromVersion: number, next: Pick<GuardRecord, 'version' | 'blob' | 'keyRef'>): Promise<void>;
}

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: number): AttributeValue => ({ N: String(n) });
const pk = (walletId: string): Record<string, AttributeValue> => ({ pk: S(`wallet#${walletId}`) });

function unavailable(err: unknown): EnclaveWalletError {
  if (err instanceof EnclaveWalletError) return err;
  const name = (err as Error)?.name ?? 'Error';
  return new EnclaveWalletError('GUARD_UNAVAILABLE', `the guard table failed (${name}); nothing was done`);
}

/** The guard on DynamoDB (dynalite locally). */
export class DynamoGuard implements WalletGuard {
  private readonly client: DynamoDBClient;

  constructor(
    private readonly config: Omit<GuardConfig, 'credentialsCiphertext'>,
    credentials: AwsCredentials,
  ) {
    this.client = new DynamoDBClient({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      credentials: { ...credentials },
      maxAttempts: 2,
      ...(config.proxy
        ? {
            requestHandler: new NodeHttpHandler({
              httpsAgent: createVsockHttpsAgent({ proxy: config.proxy, ...(config.ca ? { tls: { ca: [...config.ca] } } : {}) }),
              connectionTimeout: 2000,
              requestTimeout: 5000,
            }),
          }
        : { requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 5000 }) }),
    });
  }

  async get(walletId: string): Promise<GuardRecord | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      item = (await this.client.send(new GetItemCommand({ TableName: this.config.table, Key: pk(walletId), ConsistentRead: true }))).Item;
    } catch (err) {
      throw unavailable(err);
    }
    if (!item) return undefined;
    const num = (k: string): number => {
      const v = Number(item[k]?.N);
      if (!Number.isSafeInteger(v) || v < 0) throw new EnclaveWalletError('GUARD_UNAVAILABLE', `the guard record of this wallet is unreadable (${k})`);
      return v;
    };
    const blob = item.blob?.B;
    if (!blob || !item.owner?.S || !item.keyRef?.S) throw new EnclaveWalletError('GUARD_UNAVAILABLE', 'the guard record of this wallet is incomplete');
    return { walletId, owner: item.owner.S, keyRef: item.keyRef.S, version: num('version'), blob, failed: num('failed'), lockedUntil: num('lockedUntil') };
  }

  async create(r: GuardRecord): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.config.table,
          Item: {
            ...pk(r.walletId),
            owner: S(r.owner),
            keyRef: S(r.keyRef),
            version: N(r.version),
            blob: { B: r.blob },
            failed: N(r.failed),
            lockedUntil: N(r.lockedUntil),
            updatedAt: N(Date.now()),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new EnclaveWalletError('WALLET_EXISTS', 'a wallet with this id already exists');
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

  clear(walletId: string, version: number): Promise<void> {
    return this.update(walletId, 'SET failed = :zero, lockedUntil = :zero, updatedAt = :now', 'version = :v', { ':zero': N(0), ':v': N(version) });
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

  private async update(walletId: string, set: string, condition: string, values: Record<string, AttributeValue>): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.config.table,
          Key: pk(walletId),
          UpdateExpression: set,
          ConditionExpression: `attribute_exists(pk) AND ${condition}`,
          ExpressionAttributeValues: { ...values, ':now': N(Date.now()) },
          // BLOB is a DynamoDB reserved word.
          ...(set.includes('#blob') ? { ExpressionAttributeNames: { '#blob': 'blob' } } : {}),
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new GuardConflict('the guard record changed');
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

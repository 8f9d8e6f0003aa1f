/**
 * Wallets: one item per wallet under its owner (`USER#<id>` / `WALLET#<id>`),
 * holding the sealed blob and the public accounts. Every update is a
 * conditional write on the version read, so two operations at once, or one
 * that fails halfway, never lose or roll back a stored blob.
 *
 * `recent` answers from the records this host read or wrote in the last
 * `walletCacheMs` (a bounded map) and reads the table otherwise; only
 * operations that stay right with a stale record use it (signing: the
 * enclave opens the guard's current blob whatever it is sent, and hands the
 * current one back). Operations that write the record read it with `get`.
 */
import type { NetworkName } from '@enclave-wallet/proto';
import { GetItemCommand, PutItemCommand, QueryCommand, type QueryCommandOutput, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { unavailable, type Table } from './table.js';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';

export interface Account {
  network: NetworkName;
  index: number;
  path: string;
  address: string;
}

export interface WalletRecord {
  walletId: WalletId;
  userId: UserId;
  sealedBlob: Uint8Array;
  accounts: Account[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

const walletKey = (userId: UserId, walletId: WalletId): Record<string, AttributeValue> => ({ pk: { S: `USER#${userId}` }, sk: { S: `WALLET#${walletId}` } });

function toWallet(item: Record<string, AttributeValue>): WalletRecord {
  return {
    // Written by this host from ids it made (a UUID) or verified (a token's subject).
    walletId: item.walletId!.S! as WalletId,
    userId: item.userId!.S! as UserId,
    sealedBlob: item.sealedBlob!.B!,
    accounts: JSON.parse(item.accounts!.S!) as Account[],
    version: Number(item.version!.N),
    createdAt: item.createdAt!.S!,
    updatedAt: item.updatedAt!.S!,
  };
}

/** Records kept for `recent`, at most (oldest dropped first). */
export const WALLET_CACHE_ENTRIES = 10_000;

const cacheKey = (userId: UserId, walletId: WalletId): string => `${userId}\n${walletId}`;

export class Wallets {
  private readonly cache = new Map<string, { record: WalletRecord; at: number }>();

  constructor(
    private readonly table: Table,
    private readonly now: () => number = Date.now,
  ) {}

  /** The record as this host last read or wrote it, if that was within `walletCacheMs`; otherwise `get`. */
  async recent(userId: UserId, walletId: WalletId): Promise<WalletRecord | undefined> {
    const hit = this.cache.get(cacheKey(userId, walletId));
    if (hit && this.now() - hit.at < this.table.walletCacheMs) return hit.record;
    return this.get(userId, walletId);
  }

  /** Drops a record from the cache (after a conflict: somebody else wrote it). */
  forget(userId: UserId, walletId: WalletId): void {
    this.cache.delete(cacheKey(userId, walletId));
  }

  private remember(record: WalletRecord): WalletRecord {
    if (this.table.walletCacheMs <= 0) return record;
    const key = cacheKey(record.userId, record.walletId);
    this.cache.delete(key);
    this.cache.set(key, { record, at: this.now() });
    if (this.cache.size > WALLET_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return record;
  }

  /** Stores a new wallet; never overwrites one. */
  async create(w: Omit<WalletRecord, 'version' | 'updatedAt'>): Promise<WalletRecord> {
    const record: WalletRecord = { ...w, version: 1, updatedAt: w.createdAt };
    const key = walletKey(w.userId, w.walletId);
    const done = await this.table.writeOnce(key, 'writeMark', (mark) =>
      this.table.db.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            ...key,
            walletId: { S: w.walletId },
            userId: { S: w.userId },
            sealedBlob: { B: w.sealedBlob },
            accounts: { S: JSON.stringify(w.accounts) },
            version: { N: '1' },
            createdAt: { S: w.createdAt },
            updatedAt: { S: w.createdAt },
            writeMark: { S: mark },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    if (done.outcome === 'refused') throw new EnclaveWalletError('WALLET_CONFLICT', 'a wallet with this id exists');
    return this.remember(record);
  }

  async get(userId: UserId, walletId: WalletId): Promise<WalletRecord | undefined> {
    try {
      const out = await this.table.db.send(new GetItemCommand({ TableName: this.table.tableName, Key: walletKey(userId, walletId), ConsistentRead: true }));
      if (out.Item) return this.remember(toWallet(out.Item));
    } catch (err) {
      throw unavailable(err);
    }
    this.forget(userId, walletId);
    return undefined;
  }

  /** How many wallets the user has (a count query: no blob is read). */
  async count(userId: UserId): Promise<number> {
    let total = 0;
    await this.eachPage(userId, true, (page) => (total += page.Count ?? 0));
    return total;
  }

  async list(userId: UserId): Promise<WalletRecord[]> {
    const out: WalletRecord[] = [];
    await this.eachPage(userId, false, (page) => out.push(...(page.Items ?? []).map(toWallet)));
    return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /** Every page of the user's wallet records (consistent reads), counted only or whole. */
  private async eachPage(userId: UserId, countOnly: boolean, use: (page: QueryCommandOutput) => void): Promise<void> {
    let start: Record<string, AttributeValue> | undefined;
    try {
      do {
        const page = await this.table.db.send(
          new QueryCommand({
            TableName: this.table.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :w)',
            ExpressionAttributeValues: { ':pk': { S: `USER#${userId}` }, ':w': { S: 'WALLET#' } },
            ...(countOnly ? { Select: 'COUNT' as const } : {}),
            ExclusiveStartKey: start,
            ConsistentRead: true,
          }),
        );
        use(page);
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /**
   * Replaces a wallet's blob (and accounts) only if its version is still
   * `expectedVersion`.
   *
   * @throws {EnclaveWalletError} WALLET_CONFLICT when it changed meanwhile
   */
  async update(current: WalletRecord, sealedBlob: Uint8Array, accounts: Account[] = current.accounts): Promise<WalletRecord> {
    const updatedAt = new Date().toISOString();
    const done = await this.table
      .writeOnce(walletKey(current.userId, current.walletId), 'writeMark', (mark) =>
        this.table.db.send(
          new UpdateItemCommand({
            TableName: this.table.tableName,
            Key: walletKey(current.userId, current.walletId),
            UpdateExpression: 'SET sealedBlob = :b, accounts = :a, version = :next, updatedAt = :t, writeMark = :m',
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: {
              ':b': { B: sealedBlob },
              ':a': { S: JSON.stringify(accounts) },
              ':next': { N: String(current.version + 1) },
              ':v': { N: String(current.version) },
              ':t': { S: updatedAt },
              ':m': { S: mark },
            },
          }),
        ),
      )
      .catch((err: unknown) => {
        this.forget(current.userId, current.walletId);
        throw err;
      });
    if (done.outcome === 'refused') {
      this.forget(current.userId, current.walletId);
      throw new EnclaveWalletError('WALLET_CONFLICT', 'the wallet changed during the operation; retry');
    }
    return this.remember({ ...current, sealedBlob, accounts, version: current.version + 1, updatedAt });
  }
}

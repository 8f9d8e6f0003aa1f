/**
 * Storage on DynamoDB, single-table (docs/storage.md). Every wallet update is
 * a conditional write on the version read, so two operations at once, or one
 * that fails halfway, never lose or roll back a stored blob.
 */
import type { NetworkName } from '@enclave-wallet/proto';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { EnclaveWalletError } from '@enclave-wallet/proto';

export interface Account {
  network: NetworkName;
  index: number;
  path: string;
  address: string;
}

export interface WalletRecord {
  walletId: string;
  userId: string;
  sealedBlob: Uint8Array;
  accounts: Account[];
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface UserRecord {
  userId: string;
  email: string;
  provider: string;
  issuer: string;
  subject: string;
  createdAt: string;
}

export interface RefreshRecord {
  tokenHash: string;
  userId: string;
  familyId: string;
  expiresAt: number;
  usedAt?: number;
}

const userKey = (userId: string): Record<string, AttributeValue> => ({ pk: { S: `USER#${userId}` }, sk: { S: 'PROFILE' } });
const walletKey = (userId: string, walletId: string): Record<string, AttributeValue> => ({ pk: { S: `USER#${userId}` }, sk: { S: `WALLET#${walletId}` } });
const refreshKey = (hash: string): Record<string, AttributeValue> => ({ pk: { S: `REFRESH#${hash}` }, sk: { S: 'REFRESH' } });
const familyKey = (familyId: string): Record<string, AttributeValue> => ({ pk: { S: `FAMILY#${familyId}` }, sk: { S: 'FAMILY' } });

function unavailable(err: unknown): EnclaveWalletError {
  return new EnclaveWalletError('STORAGE_UNAVAILABLE', 'the wallet store is unavailable', { cause: err });
}

function toWallet(item: Record<string, AttributeValue>): WalletRecord {
  return {
    walletId: item.walletId!.S!,
    userId: item.userId!.S!,
    sealedBlob: item.sealedBlob!.B!,
    accounts: JSON.parse(item.accounts!.S!) as Account[],
    version: Number(item.version!.N),
    createdAt: item.createdAt!.S!,
    updatedAt: item.updatedAt!.S!,
  };
}

export interface StoreOptions {
  client: DynamoDBClient;
  tableName: string;
}

export class Store {
  private readonly db: DynamoDBClient;
  readonly tableName: string;

  constructor(options: StoreOptions) {
    this.db = options.client;
    this.tableName = options.tableName;
  }

  /** Creates the table if it does not exist (local stack and tests; production uses scripts/create-table). */
  async ensureTable(): Promise<void> {
    try {
      await this.db.send(new DescribeTableCommand({ TableName: this.tableName }));
      return;
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw unavailable(err);
    }
    await this.db.send(new CreateTableCommand(tableDefinition(this.tableName)));
    for (let i = 0; i < 100; i++) {
      const t = await this.db.send(new DescribeTableCommand({ TableName: this.tableName }));
      if (t.Table?.TableStatus === 'ACTIVE') return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Whether the store answers (for readiness). */
  async ping(): Promise<void> {
    try {
      await this.db.send(new DescribeTableCommand({ TableName: this.tableName }));
    } catch (err) {
      throw unavailable(err);
    }
  }

  async upsertUser(user: UserRecord): Promise<UserRecord> {
    try {
      // Keep the first createdAt; refresh the email and provider.
      const out = await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: userKey(user.userId),
          UpdateExpression: 'SET email = :e, provider = :p, issuer = :i, subject = :s, createdAt = if_not_exists(createdAt, :c), userId = :u',
          ExpressionAttributeValues: { ':e': { S: user.email }, ':p': { S: user.provider }, ':i': { S: user.issuer }, ':s': { S: user.subject }, ':c': { S: user.createdAt }, ':u': { S: user.userId } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ...user, createdAt: out.Attributes?.createdAt?.S ?? user.createdAt };
    } catch (err) {
      throw unavailable(err);
    }
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    try {
      const out = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: userKey(userId), ConsistentRead: true }));
      const i = out.Item;
      if (!i) return undefined;
      return { userId, email: i.email?.S ?? '', provider: i.provider?.S ?? '', issuer: i.issuer?.S ?? '', subject: i.subject?.S ?? '', createdAt: i.createdAt?.S ?? '' };
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Stores a new wallet; never overwrites one. */
  async createWallet(w: Omit<WalletRecord, 'version' | 'updatedAt'>): Promise<WalletRecord> {
    const record: WalletRecord = { ...w, version: 1, updatedAt: w.createdAt };
    try {
      await this.db.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...walletKey(w.userId, w.walletId),
            walletId: { S: w.walletId },
            userId: { S: w.userId },
            sealedBlob: { B: w.sealedBlob },
            accounts: { S: JSON.stringify(w.accounts) },
            version: { N: '1' },
            createdAt: { S: w.createdAt },
            updatedAt: { S: w.createdAt },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return record;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new EnclaveWalletError('WALLET_CONFLICT', 'a wallet with this id exists');
      throw unavailable(err);
    }
  }

  async getWallet(userId: string, walletId: string): Promise<WalletRecord | undefined> {
    try {
      const out = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: walletKey(userId, walletId), ConsistentRead: true }));
      return out.Item ? toWallet(out.Item) : undefined;
    } catch (err) {
      throw unavailable(err);
    }
  }

  async listWallets(userId: string): Promise<WalletRecord[]> {
    const out: WalletRecord[] = [];
    let start: Record<string, AttributeValue> | undefined;
    try {
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :w)',
            ExpressionAttributeValues: { ':pk': { S: `USER#${userId}` }, ':w': { S: 'WALLET#' } },
            ExclusiveStartKey: start,
            ConsistentRead: true,
          }),
        );
        out.push(...(page.Items ?? []).map(toWallet));
        start = page.LastEvaluatedKey;
      } while (start);
    } catch (err) {
      throw unavailable(err);
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /**
   * Replaces a wallet's blob (and accounts) only if its version is still
   * `expectedVersion`.
   *
   * @throws {EnclaveWalletError} WALLET_CONFLICT when it changed meanwhile
   */
  async updateWallet(current: WalletRecord, sealedBlob: Uint8Array, accounts: Account[] = current.accounts): Promise<WalletRecord> {
    const updatedAt = new Date().toISOString();
    try {
      await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: walletKey(current.userId, current.walletId),
          UpdateExpression: 'SET sealedBlob = :b, accounts = :a, version = :next, updatedAt = :t',
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':b': { B: sealedBlob }, ':a': { S: JSON.stringify(accounts) }, ':next': { N: String(current.version + 1) }, ':v': { N: String(current.version) }, ':t': { S: updatedAt } },
        }),
      );
      return { ...current, sealedBlob, accounts, version: current.version + 1, updatedAt };
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new EnclaveWalletError('WALLET_CONFLICT', 'the wallet changed during the operation; retry');
      throw unavailable(err);
    }
  }

  async putRefreshToken(r: RefreshRecord): Promise<void> {
    try {
      await this.db.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...refreshKey(r.tokenHash), userId: { S: r.userId }, familyId: { S: r.familyId }, expiresAt: { N: String(r.expiresAt) }, ttl: { N: String(Math.ceil(r.expiresAt / 1000)) } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      throw unavailable(err);
    }
  }

  /**
   * Marks a refresh token used, once. Returns its record; `reused` when it
   * had been used before (the caller then revokes the whole family).
   */
  async useRefreshToken(tokenHash: string, now: number): Promise<{ record: RefreshRecord; reused: boolean } | undefined> {
    try {
      const out = await this.db.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: refreshKey(tokenHash),
          UpdateExpression: 'SET usedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt)',
          ExpressionAttributeValues: { ':now': { N: String(now) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const a = out.Attributes!;
      return { record: { tokenHash, userId: a.userId!.S!, familyId: a.familyId!.S!, expiresAt: Number(a.expiresAt!.N) }, reused: false };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw unavailable(err);
    }
    const existing = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: refreshKey(tokenHash), ConsistentRead: true })).catch((err: unknown) => {
      throw unavailable(err);
    });
    const a = existing.Item;
    if (!a) return undefined;
    return { record: { tokenHash, userId: a.userId!.S!, familyId: a.familyId!.S!, expiresAt: Number(a.expiresAt!.N), usedAt: Number(a.usedAt?.N ?? 0) }, reused: true };
  }

  async revokeFamily(familyId: string): Promise<void> {
    try {
      await this.db.send(new PutItemCommand({ TableName: this.tableName, Item: { ...familyKey(familyId), revokedAt: { N: String(Date.now()) } } }));
    } catch (err) {
      throw unavailable(err);
    }
  }

  async isFamilyRevoked(familyId: string): Promise<boolean> {
    try {
      const out = await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: familyKey(familyId), ConsistentRead: true }));
      return out.Item !== undefined;
    } catch (err) {
      throw unavailable(err);
    }
  }
}

/** The table: pk/sk strings, on-demand capacity, TTL on `ttl` (set separately on AWS). */
export function tableDefinition(tableName: string): ConstructorParameters<typeof CreateTableCommand>[0] {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  };
}

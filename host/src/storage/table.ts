/**
 * The one DynamoDB table of the host (docs/storage.md): its definition, its
 * creation for the local stack, and what every record type shares. The
 * records live beside it: users.ts, wallets.ts, sessions.ts.
 */
import { randomBytes } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ResourceNotFoundException,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { EnclaveWalletError } from '@enclave-wallet/proto';

/** Any failure of the store, as the API reports it (the cause kept for logs). */
export function unavailable(err: unknown): EnclaveWalletError {
  return new EnclaveWalletError('STORAGE_UNAVAILABLE', 'the wallet store is unavailable', { cause: err });
}

export interface StoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long a wallet record read or written by this host may answer `wallets.recent` (0: never; see wallets.ts). */
  walletCacheMs?: number;
}

/** A client and the table's name: what the record types share. */
export class Table {
  readonly db: DynamoDBClient;
  readonly tableName: string;
  readonly walletCacheMs: number;

  constructor(options: StoreOptions) {
    this.db = options.client;
    this.tableName = options.tableName;
    this.walletCacheMs = options.walletCacheMs ?? 0;
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

  /**
   * A conditional write made once, whatever its answers: `write` gets a fresh mark (`writeMark()`) to store with the
   * item, and when its outcome is not known — refused by its condition after the SDK tried it again (an attempt's
   * answer late or lost), or failed with a timeout or a dropped connection — the item is read back (a consistent
   * read): holding this mark, the write is this call's, done. Otherwise `refused` when the condition refused it, and
   * STORAGE_UNAVAILABLE for any other failure (storage/client.ts, docs/storage.md#deadlines).
   */
  async writeOnce<T>(
    key: Record<string, AttributeValue>,
    markAttribute: string,
    write: (mark: string) => Promise<T>,
  ): Promise<{ outcome: 'written'; out?: T; item?: Record<string, AttributeValue> } | { outcome: 'refused'; item?: Record<string, AttributeValue> }> {
    const mark = writeMark();
    let failure: unknown;
    try {
      return { outcome: 'written', out: await write(mark) };
    } catch (err) {
      failure = err;
    }
    let item: Record<string, AttributeValue> | undefined;
    try {
      item = (await this.db.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }))).Item;
    } catch {
      throw unavailable(failure);
    }
    if (item?.[markAttribute]?.S === mark) return { outcome: 'written', item };
    if (failure instanceof ConditionalCheckFailedException) return { outcome: 'refused', ...(item ? { item } : {}) };
    throw unavailable(failure);
  }

  /** Whether the store answers (for readiness). */
  async ping(): Promise<void> {
    try {
      await this.db.send(new DescribeTableCommand({ TableName: this.tableName }));
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

/** A random mark a write stores with its item, so that the item read back tells whether that write is the one stored. */
const writeMark = (): string => randomBytes(16).toString('hex');

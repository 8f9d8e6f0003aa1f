/**
 * A real table for a test of the host's store: dynalite on a port of its own, behind a fault proxy when asked, read
 * and written through the host's own DynamoDB client (host/src/storage/client.ts) with the deadlines the test picks.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { GetItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { storageClient, type StorageClientOptions } from '../../host/src/storage/client.js';
import { Store } from '../../host/src/storage/index.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

export interface TestTable {
  store: Store;
  client: DynamoDBClient;
  /** In front of dynalite when `faults` was asked for. */
  proxy: FaultProxy | undefined;
  /** The REFRESH# record of a refresh token, read consistently (undefined when there is none). */
  refreshRecord(token: string): Promise<Record<string, AttributeValue> | undefined>;
  /** How many unused REFRESH# records a session has: its live refresh tokens (and any whose write may still land). */
  liveRefreshRecords(familyId: string): Promise<number>;
  close(): Promise<void>;
}

export async function startTestTable(
  tableName: string,
  options: { faults?: boolean; client?: Omit<StorageClientOptions, 'region' | 'endpoint'> } = {},
): Promise<TestTable> {
  const dyn = dynalite({ createTableMs: 0 }) as Server;
  await new Promise<void>((r) => dyn.listen(0, '127.0.0.1', () => r()));
  const direct = `http://127.0.0.1:${(dyn.address() as AddressInfo).port}`;
  const proxy = options.faults ? await startFaultProxy(direct) : undefined;
  const client = storageClient({ region: 'us-east-1', endpoint: proxy?.url ?? direct, ...options.client });
  const store = new Store({ client, tableName });
  await store.ensureTable();
  return {
    store,
    client,
    proxy,
    refreshRecord: async (token) => {
      const key = { pk: { S: `REFRESH#${createHash('sha256').update(token).digest('hex')}` }, sk: { S: 'REFRESH' } };
      return (await client.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
    },
    liveRefreshRecords: async (familyId) => {
      const out = await client.send(
        new ScanCommand({
          TableName: tableName,
          ConsistentRead: true,
          FilterExpression: 'familyId = :f AND attribute_not_exists(usedAt) AND sk = :r',
          ExpressionAttributeValues: { ':f': { S: familyId }, ':r': { S: 'REFRESH' } },
        }),
      );
      return out.Items?.length ?? 0;
    },
    close: async () => {
      client.destroy();
      await proxy?.close();
      await new Promise((r) => dyn.close(r));
    },
  };
}

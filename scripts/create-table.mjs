#!/usr/bin/env node
// Creates the host's DynamoDB table on AWS (or on DYNAMODB_ENDPOINT), with
// on-demand capacity, point-in-time recovery and TTL on `ttl`. Idempotent.
// Usage: AWS_REGION=eu-west-1 DYNAMODB_TABLE=enclave-wallet node scripts/create-table.mjs
import { DynamoDBClient, DescribeTableCommand, UpdateContinuousBackupsCommand, UpdateTimeToLiveCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';

const { Store } = await import('../host/dist/storage/index.js');
const table = process.env.DYNAMODB_TABLE ?? 'enclave-wallet';
const endpoint = process.env.DYNAMODB_ENDPOINT;
const client = new DynamoDBClient({ region: process.env.AWS_REGION ?? 'us-east-1', ...(endpoint ? { endpoint } : {}) });
await new Store({ client, tableName: table }).ensureTable();
await waitUntilTableExists({ client, maxWaitTime: 120 }, { TableName: table });
if (!endpoint) {
  await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } })).catch((err) => {
    if (!/already enabled/i.test(err.message)) throw err;
  });
  await client.send(new UpdateContinuousBackupsCommand({ TableName: table, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }));
}
const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
console.log(JSON.stringify({ table: Table.TableName, status: Table.TableStatus, arn: Table.TableArn }));
client.destroy();

/**
 * The host's DynamoDB client, with deadlines. The AWS SDK's own handler has
 * none by default: a table endpoint that accepts a connection and never
 * answers (a network partition, a stuck proxy) would hold every request that
 * reads or writes the store for as long as the caller waits. With these, a
 * silent store answers STORAGE_UNAVAILABLE (503) within about ten seconds
 * (docs/storage.md#deadlines).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** A connection to the table's endpoint not made within this fails the attempt. */
export const STORAGE_CONNECT_TIMEOUT_MS = 1_000;
/** An attempt not answered within this (from its start) fails; DynamoDB answers in milliseconds. */
export const STORAGE_REQUEST_TIMEOUT_MS = 3_000;
/** Attempts per call (the SDK's standard retry: a timeout or a dropped connection is tried again). */
export const STORAGE_MAX_ATTEMPTS = 3;

export interface StorageClientOptions {
  region: string;
  /** A local DynamoDB-compatible server (dynalite), with the local stand-in's credentials; unset on AWS. */
  endpoint?: string | undefined;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxAttempts?: number;
}

export function storageClient(options: StorageClientOptions): DynamoDBClient {
  return new DynamoDBClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: options.maxAttempts ?? STORAGE_MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectTimeoutMs ?? STORAGE_CONNECT_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? STORAGE_REQUEST_TIMEOUT_MS,
      // Without it the SDK only logs a warning when requestTimeout passes, and the call goes on waiting.
      throwOnRequestTimeout: true,
    }),
  });
}

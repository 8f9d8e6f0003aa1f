/**
 * The guard's DynamoDB client: the three item operations the guard uses
 * (GetItem, PutItem, UpdateItem; conditional writes), spoken in DynamoDB's
 * JSON protocol (`POST /`, `X-Amz-Target: DynamoDB_20120810.<Operation>`,
 * `application/x-amz-json-1.0`) and signed with Signature Version 4 by AWS's
 * own signer (`@smithy/signature-v4`, the one the AWS SDK uses).
 *
 * Why not `@aws-sdk/client-dynamodb`: every guess costs two guard writes, and
 * measured on the development machine the SDK spent 3.9 ms of CPU per
 * UpdateItem (its middleware stack, schema serde, endpoint rules and retry
 * strategy) against 1.2 ms here, with the same signature and the same
 * socket; in the enclave that CPU is taken from the PIN stretch. It also
 * keeps the SDK's DynamoDB client out of the enclave image.
 *
 * Retries: one more attempt after a network error, a 5xx or throttling (as
 * the SDK's `maxAttempts: 2` did). A conditional write whose answer was lost
 * and that is tried again fails its condition; the guard then re-reads, so a
 * guess can be counted twice, never zero times.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createHash, createHmac, type BinaryLike } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentials } from '../kms/client.js';
import { pause } from '../pause.js';

/** A DynamoDB attribute value, as the guard uses them (strings, numbers, binary, maps of those). */
export type AttributeValue = { S: string } | { N: string } | { B: Uint8Array } | { M: Item };
export type Item = { [name: string]: AttributeValue };

/** An error DynamoDB answered (`name` is its `__type` without the namespace). */
export class DynamoDbError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface DynamoDbOptions {
  region: string;
  /** `https://dynamodb.<region>.amazonaws.com` by default; `http://127.0.0.1:…` for dynalite. */
  endpoint?: string;
  credentials: AwsCredentials;
  /** The agent for HTTPS (the vsock agent on Nitro). */
  httpsAgent?: HttpsAgent;
  /** Milliseconds before a request is abandoned (connection included). */
  timeoutMs?: number;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): BinaryLike =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);

/** SHA-256 and HMAC-SHA256 for the signer, from node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {}
}

const RETRYABLE = new Set(['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'InternalServerError']);

type WireValue = { S?: unknown; N?: unknown; B?: unknown; M?: unknown };
const toWire = (item: Item): Record<string, unknown> =>
  Object.fromEntries(Object.entries(item).map(([k, v]) => [k, 'B' in v ? { B: Buffer.from(v.B).toString('base64') } : 'M' in v ? { M: toWire(v.M) } : v]));
const fromWire = (item: Record<string, WireValue>): Item =>
  Object.fromEntries(
    Object.entries(item).flatMap(([k, v]): Array<[string, AttributeValue]> => {
      if (typeof v.S === 'string') return [[k, { S: v.S }]];
      if (typeof v.N === 'string') return [[k, { N: v.N }]];
      if (typeof v.B === 'string') return [[k, { B: new Uint8Array(Buffer.from(v.B, 'base64')) }]];
      if (v.M && typeof v.M === 'object') return [[k, { M: fromWire(v.M as Record<string, WireValue>) }]];
      return []; // a type the guard never writes
    }),
  );

export class DynamoDb {
  private readonly url: URL;
  private readonly signer: SignatureV4;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly timeoutMs: number;

  constructor(options: DynamoDbOptions) {
    this.url = new URL(options.endpoint || `https://dynamodb.${options.region}.amazonaws.com`);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') throw new Error('the guard endpoint must be http(s)');
    this.signer = new SignatureV4({ credentials: { ...options.credentials }, region: options.region, service: 'dynamodb', sha256: NodeSha256 });
    // Connections are kept: a guess costs two calls, and a new connection (a TLS handshake in production) per call would cost more than the call.
    this.agent =
      this.url.protocol === 'https:'
        ? (options.httpsAgent ?? new HttpsAgent({ keepAlive: true, maxSockets: 16 }))
        : new HttpAgent({ keepAlive: true, maxSockets: 16 });
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  async getItem(table: string, key: Item): Promise<Item | undefined> {
    const out = (await this.call('GetItem', { TableName: table, Key: toWire(key), ConsistentRead: true })) as { Item?: Record<string, WireValue> };
    return out.Item ? fromWire(out.Item) : undefined;
  }

  async putItem(table: string, item: Item, condition: string): Promise<void> {
    await this.call('PutItem', { TableName: table, Item: toWire(item), ConditionExpression: condition });
  }

  /**
   * `update.expression` is a whole UpdateExpression (`SET …`, `REMOVE …`). With `returnNew`, answers the item
   * as the write left it.
   */
  async updateItem(
    table: string,
    key: Item,
    update: { expression: string; condition: string; values: Item; names?: Record<string, string>; returnNew?: boolean },
  ): Promise<Item | undefined> {
    const out = (await this.call('UpdateItem', {
      TableName: table,
      Key: toWire(key),
      UpdateExpression: update.expression,
      ConditionExpression: update.condition,
      // DynamoDB refuses an empty ExpressionAttributeValues or ExpressionAttributeNames.
      ...(Object.keys(update.values).length ? { ExpressionAttributeValues: toWire(update.values) } : {}),
      ...(update.names && Object.keys(update.names).length ? { ExpressionAttributeNames: update.names } : {}),
      ...(update.returnNew ? { ReturnValues: 'ALL_NEW' } : {}),
    })) as { Attributes?: Record<string, WireValue> };
    return out.Attributes ? fromWire(out.Attributes) : undefined;
  }

  private async call(operation: string, body: Record<string, unknown>): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(operation, body);
      } catch (err) {
        const retryable = !(err instanceof DynamoDbError) || err.status >= 500 || RETRYABLE.has(err.name);
        if (attempt >= 2 || !retryable) throw err;
        await pause(20, 80);
      }
    }
  }

  private async once(operation: string, body: Record<string, unknown>): Promise<unknown> {
    const json = JSON.stringify(body);
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      ...(this.url.port ? { port: Number(this.url.port) } : {}),
      path: '/',
      query: {},
      headers: {
        host: this.url.host,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDB_20120810.${operation}`,
      },
      body: json,
    });
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(
        {
          method: 'POST',
          host: this.url.hostname,
          port: this.url.port || (this.url.protocol === 'https:' ? 443 : 80),
          servername: this.url.hostname,
          path: '/',
          headers: { ...signed.headers, 'content-length': Buffer.byteLength(json) },
          agent: this.agent,
          timeout: this.timeoutMs,
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`DynamoDB ${operation} timed out`)));
      req.on('error', reject);
      req.end(json);
    });
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(res.text || '{}') as Record<string, unknown>;
    } catch {
      throw new DynamoDbError('UnreadableAnswer', `DynamoDB answered ${res.status} with a body that is not JSON`, res.status || 502);
    }
    if (res.status === 200) return parsed;
    const type = String(parsed.__type ?? 'UnknownError');
    throw new DynamoDbError(type.slice(type.lastIndexOf('#') + 1), String(parsed.message ?? parsed.Message ?? ''), res.status);
  }

  destroy(): void {
    this.agent.destroy();
  }
}

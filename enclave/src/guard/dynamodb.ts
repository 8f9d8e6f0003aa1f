/**
 * The guard's DynamoDB client: the three item operations the guard uses
 * (GetItem, PutItem, UpdateItem; conditional writes), spoken in DynamoDB's
 * JSON protocol (`POST /`, `X-Amz-Target: DynamoDB_20120810.<Operation>`,
 * `application/x-amz-json-1.0`) and signed with Signature Version 4 by our own
 * signer for this one request shape (`sigv4.ts`, checked against AWS's
 * `@smithy/signature-v4` and AWS's published SigV4 test suite).
 *
 * Why not `@aws-sdk/client-dynamodb`: every guess costs two guard writes, and
 * measured on the development machine the SDK spent 3.9 ms of CPU per
 * UpdateItem (its middleware stack, schema serde, endpoint rules and retry
 * strategy) against 1.2 ms here, with the same signature and the same
 * socket; in the enclave that CPU is taken from the PIN stretch. It also
 * keeps the SDK's DynamoDB client out of the enclave image.
 *
 * The per-call work is kept small, since it runs on the enclave's main thread
 * (the PIN stretch's core): the body is built and serialised once per call,
 * the request is one string written once on a kept connection by the guard's
 * own HTTP/1.1 client (`http1.ts`: about half node:http's CPU per call), and
 * items are converted with plain loops.
 *
 * Retries: one more attempt after a network error, a 5xx or throttling (as
 * the SDK's `maxAttempts: 2` did). A conditional write whose answer was lost
 * and that is tried again fails its condition; the guard then re-reads, so a
 * guess can be counted twice, never zero times.
 */
import type { Duplex } from 'node:stream';
import type { AwsCredentials } from '../kms/client.js';
import { pause } from '../pause.js';
import { Http1Client, tcpConnector, tlsConnector } from './http1.js';
import { SigV4 } from './sigv4.js';

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

/** DynamoDB refuses an expression longer than 4 KB; dynalite does not, so the client refuses it first, as DynamoDB would. */
export const MAX_EXPRESSION_BYTES = 4096;
function checkExpressionSize(kind: string, expression: string): void {
  const size = Buffer.byteLength(expression);
  if (size > MAX_EXPRESSION_BYTES)
    throw new DynamoDbError('ValidationException', `Invalid ${kind}: Expression size has exceeded the maximum allowed size; expression size: ${size}`, 400);
}

export interface DynamoDbOptions {
  region: string;
  /** `https://dynamodb.<region>.amazonaws.com` by default; `http://127.0.0.1:…` for dynalite. */
  endpoint?: string;
  credentials: AwsCredentials;
  /** How to reach an https endpoint: a TLS connection for that name (through vsock-proxy on Nitro); a direct one by default. */
  connect?: (servername: string, signal: AbortSignal) => Promise<Duplex>;
  /** Milliseconds before a request is abandoned (connection included). */
  timeoutMs?: number;
}

const RETRYABLE = new Set(['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'InternalServerError']);

type WireValue = { S?: unknown; N?: unknown; B?: unknown; M?: unknown };

/** `out[name] = value` as an own property, `__proto__` included (as Object.fromEntries did). */
function put(out: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

const hasOwnKeys = (o: object): boolean => {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
};

function toWire(item: Item): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(item)) {
    const v = item[k]!;
    // The bytes are read in place (Buffer.from(v.B) would copy them first).
    put(out, k, 'B' in v ? { B: Buffer.from(v.B.buffer, v.B.byteOffset, v.B.byteLength).toString('base64') } : 'M' in v ? { M: toWire(v.M) } : v);
  }
  return out;
}

/** Base64 to bytes in an array of their own (not a slice of Buffer's shared pool), in one copy. */
function fromBase64(text: string): Uint8Array {
  const length = Buffer.byteLength(text, 'base64');
  const out = new Uint8Array(length);
  const written = Buffer.from(out.buffer, 0, length).write(text, 'base64');
  return written === length ? out : out.slice(0, written);
}

function fromWire(item: Record<string, WireValue>): Item {
  const out: Item = {};
  for (const k of Object.keys(item)) {
    const v = item[k]!;
    let value: AttributeValue;
    if (typeof v.S === 'string') value = { S: v.S };
    else if (typeof v.N === 'string') value = { N: v.N };
    else if (typeof v.B === 'string') value = { B: fromBase64(v.B) };
    else if (v.M && typeof v.M === 'object') value = { M: fromWire(v.M as Record<string, WireValue>) };
    else continue; // a type the guard never writes
    put(out, k, value);
  }
  return out;
}

/** An answer's body: the parsed JSON for a 200, else the DynamoDbError it names. */
function answer(status: number, text: string): unknown {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text || '{}') as Record<string, unknown>;
  } catch {
    throw new DynamoDbError('UnreadableAnswer', `DynamoDB answered ${status} with a body that is not JSON`, status || 502);
  }
  if (status === 200) return parsed;
  const type = String(parsed.__type ?? 'UnknownError');
  throw new DynamoDbError(type.slice(type.lastIndexOf('#') + 1), String(parsed.message ?? parsed.Message ?? ''), status);
}

const TARGET = 'DynamoDB_20120810.';

export class DynamoDb {
  private readonly url: URL;
  private readonly signer: SigV4;
  private readonly http: Http1Client;

  constructor(options: DynamoDbOptions) {
    this.url = new URL(options.endpoint || `https://dynamodb.${options.region}.amazonaws.com`);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') throw new Error('the guard endpoint must be http(s)');
    if (this.url.pathname !== '/' || this.url.search || this.url.username) throw new Error('the guard endpoint must be an origin (no path, query or user)');
    // What goes into the request's head as it is: nothing there may end a line.
    const { accessKeyId, sessionToken: token } = options.credentials;
    if (!/^[\x21-\x7e]+$/.test(accessKeyId)) throw new Error('the guard credentials’ access key id has characters a header cannot carry');
    if (token !== undefined && !/^[\x21-\x7e]*$/.test(token)) throw new Error('the guard credentials’ session token has characters a header cannot carry');
    this.signer = new SigV4(options.credentials, options.region, 'dynamodb');
    const https = this.url.protocol === 'https:';
    const port = Number(this.url.port || (https ? 443 : 80));
    const hostname = this.url.hostname.replace(/^\[|\]$/g, '');
    const connect = !https
      ? tcpConnector(hostname, port)
      : options.connect
        ? (signal: AbortSignal) => options.connect!(hostname, signal)
        : tlsConnector(hostname, port);
    // Connections are kept: a guess costs a call, and a new connection (a TLS handshake in production) per call would cost more than the call.
    this.http = new Http1Client(connect, { maxSockets: 16, timeoutMs: options.timeoutMs ?? 5000 });
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
   * as the write left it; with `returnNew` and `only`, only that attribute of it (DynamoDB still sends the whole
   * item, `ALL_NEW`; the rest is parsed as JSON and dropped, not converted: the guard's count reads one budget of an
   * item that carries the sealed blob too).
   */
  async updateItem(
    table: string,
    key: Item,
    update: { expression: string; condition: string; values: Item; names?: Record<string, string>; returnNew?: boolean; only?: string },
  ): Promise<Item | undefined> {
    checkExpressionSize('UpdateExpression', update.expression);
    checkExpressionSize('ConditionExpression', update.condition);
    const body: Record<string, unknown> = {
      TableName: table,
      Key: toWire(key),
      UpdateExpression: update.expression,
      ConditionExpression: update.condition,
    };
    // DynamoDB refuses an empty ExpressionAttributeValues or ExpressionAttributeNames.
    if (hasOwnKeys(update.values)) body.ExpressionAttributeValues = toWire(update.values);
    if (update.names && hasOwnKeys(update.names)) body.ExpressionAttributeNames = update.names;
    if (update.returnNew) body.ReturnValues = 'ALL_NEW';
    const out = (await this.call('UpdateItem', body)) as { Attributes?: Record<string, WireValue> };
    if (!out.Attributes) return undefined;
    if (update.only === undefined) return fromWire(out.Attributes);
    const value = Object.hasOwn(out.Attributes, update.only) ? out.Attributes[update.only] : undefined;
    return value === undefined ? {} : fromWire({ [update.only]: value });
  }

  private async call(operation: string, body: Record<string, unknown>): Promise<unknown> {
    const json = JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(operation, json);
      } catch (err) {
        const retryable = !(err instanceof DynamoDbError) || err.status >= 500 || RETRYABLE.has(err.name);
        if (attempt >= 2 || !retryable) throw err;
        await pause(20, 80);
      }
    }
  }

  /** One attempt: signed now, sent, and its answer read (the parsed body of a 200, else a DynamoDbError). */
  private async once(operation: string, json: string): Promise<unknown> {
    const signed = this.signer.signJsonPost(this.url.host, TARGET + operation, json);
    // The headers in the order the SDK's signer left them, then the length and (as node:http sent it) keep-alive.
    const head =
      'POST / HTTP/1.1\r\nhost: ' +
      signed.host +
      '\r\ncontent-type: ' +
      signed['content-type'] +
      '\r\nx-amz-target: ' +
      signed['x-amz-target'] +
      '\r\nx-amz-date: ' +
      signed['x-amz-date'] +
      (signed['x-amz-security-token'] !== undefined ? '\r\nx-amz-security-token: ' + signed['x-amz-security-token'] : '') +
      '\r\nx-amz-content-sha256: ' +
      signed['x-amz-content-sha256'] +
      '\r\nauthorization: ' +
      signed.authorization +
      '\r\ncontent-length: ' +
      Buffer.byteLength(json) +
      '\r\nconnection: keep-alive\r\n\r\n';
    const { status, body } = await this.http.request(head, json);
    return answer(status, body.toString('utf8'));
  }

  destroy(): void {
    this.http.destroy();
    this.signer.destroy();
  }
}

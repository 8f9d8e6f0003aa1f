/**
 * The guard's own DynamoDB client (src/guard/dynamodb.ts): its items
 * round-trip through dynalite (strings, numbers, binary, conditions); every
 * request carries a Signature Version 4 that this test recomputes by hand
 * from AWS's published algorithm (dynalite checks no signature); and it
 * retries what the SDK would retry, once, and nothing else.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { ensureGuardTable } from '@enclave-wallet/devtools';
import { DynamoDb, DynamoDbError } from '../src/guard/dynamodb.js';

const TABLE = 'guard-client-test';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-example' };
const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const close = (server: Server): Promise<void> => new Promise((r) => server.close(() => r()));

test('ensureGuardTable returns once the table is ACTIVE (a table still CREATING refuses reads: a guard read in that moment failed a loaded CI run)', async () => {
  const slow = dynalite({ createTableMs: 300 }) as unknown as Server;
  const endpoint = await listen(slow);
  const db = new DynamoDb({ region: 'us-east-1', endpoint, credentials });
  try {
    await ensureGuardTable(endpoint, 'made-slowly');
    expect(await db.getItem('made-slowly', { pk: { S: 'wallet#none' } })).toBeUndefined();
    await ensureGuardTable(endpoint, 'made-slowly'); // there already: returns
  } finally {
    db.destroy();
    await close(slow);
  }
});

describe('against dynalite', () => {
  let server: Server;
  let db: DynamoDb;
  beforeAll(async () => {
    server = dynalite({ createTableMs: 0 }) as unknown as Server;
    const endpoint = await listen(server);
    // The table as the launcher makes it.
    await ensureGuardTable(endpoint, TABLE);
    db = new DynamoDb({ region: 'us-east-1', endpoint, credentials });
  });
  afterAll(async () => {
    db.destroy();
    await close(server);
  });

  test('items round-trip: strings, numbers and every byte value; a missing item is undefined', async () => {
    const blob = Uint8Array.from({ length: 256 }, (_, i) => i);
    await db.putItem(TABLE, { pk: { S: 'wallet#a' }, owner: { S: 'u-ü' }, version: { N: '7' }, blob: { B: blob } }, 'attribute_not_exists(pk)');
    expect(await db.getItem(TABLE, { pk: { S: 'wallet#a' } })).toEqual({ pk: { S: 'wallet#a' }, owner: { S: 'u-ü' }, version: { N: '7' }, blob: { B: blob } });
    expect(await db.getItem(TABLE, { pk: { S: 'wallet#none' } })).toBeUndefined();
  });

  test('maps round-trip, and a map entry is set and removed by its own path (the guard’s guesses)', async () => {
    await db.putItem(TABLE, { pk: { S: 'wallet#m' }, guesses: { M: { a1: { S: 'f1' } } } }, 'attribute_not_exists(pk)');
    await db.updateItem(
      TABLE,
      { pk: { S: 'wallet#m' } },
      { expression: 'SET guesses.#t = :p', condition: 'size(guesses) < :max', values: { ':p': { S: 'p2' }, ':max': { N: '2' } }, names: { '#t': 'b2' } },
    );
    expect(await db.getItem(TABLE, { pk: { S: 'wallet#m' } })).toEqual({ pk: { S: 'wallet#m' }, guesses: { M: { a1: { S: 'f1' }, b2: { S: 'p2' } } } });
    const full = await db
      .updateItem(
        TABLE,
        { pk: { S: 'wallet#m' } },
        { expression: 'SET guesses.#t = :p', condition: 'size(guesses) < :max', values: { ':p': { S: 'p3' }, ':max': { N: '2' } }, names: { '#t': 'c3' } },
      )
      .catch((e: unknown) => e);
    expect((full as DynamoDbError).name).toBe('ConditionalCheckFailedException');
    await db.updateItem(
      TABLE,
      { pk: { S: 'wallet#m' } },
      { expression: 'REMOVE guesses.#t, guesses.#g', condition: 'attribute_exists(guesses.#t)', values: {}, names: { '#t': 'b2', '#g': 'gone' } },
    );
    expect(await db.getItem(TABLE, { pk: { S: 'wallet#m' } })).toEqual({ pk: { S: 'wallet#m' }, guesses: { M: { a1: { S: 'f1' } } } });
  });

  test('conditions hold: a failed one is ConditionalCheckFailedException, and the item is unchanged', async () => {
    await db.putItem(TABLE, { pk: { S: 'wallet#b' }, n: { N: '1' } }, 'attribute_not_exists(pk)');
    const again = await db.putItem(TABLE, { pk: { S: 'wallet#b' }, n: { N: '9' } }, 'attribute_not_exists(pk)').catch((e: unknown) => e);
    expect(again).toBeInstanceOf(DynamoDbError);
    expect((again as DynamoDbError).name).toBe('ConditionalCheckFailedException');
    await db.updateItem(
      TABLE,
      { pk: { S: 'wallet#b' } },
      {
        expression: 'SET n = :n, #blob = :b',
        condition: 'n = :o',
        values: { ':n': { N: '2' }, ':o': { N: '1' }, ':b': { B: new Uint8Array([1]) } },
        names: { '#blob': 'blob' },
      },
    );
    const lost = await db
      .updateItem(TABLE, { pk: { S: 'wallet#b' } }, { expression: 'SET n = :n', condition: 'n = :o', values: { ':n': { N: '3' }, ':o': { N: '1' } } })
      .catch((e: unknown) => e);
    expect((lost as DynamoDbError).name).toBe('ConditionalCheckFailedException');
    expect(await db.getItem(TABLE, { pk: { S: 'wallet#b' } })).toEqual({ pk: { S: 'wallet#b' }, n: { N: '2' }, blob: { B: new Uint8Array([1]) } });
  });
});

/** A stand-in endpoint that records requests and answers from `answers` (status, body), in turn. */
async function recorder(answers: Array<[number, unknown]>): Promise<{ url: string; seen: Array<{ req: IncomingMessage; body: string }>; server: Server }> {
  const seen: Array<{ req: IncomingMessage; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ req, body: Buffer.concat(chunks).toString('utf8') });
      const [status, body] = answers[Math.min(seen.length - 1, answers.length - 1)]!;
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
    });
  });
  return { url: await listen(server), seen, server };
}

/** Signature Version 4, computed from AWS's description, for a request as the server received it. */
function expectedSignature(req: IncomingMessage, body: string, secret: string): { signedHeaders: string; signature: string; scope: string } {
  const auth = String(req.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)![1]!;
  const scope = /Credential=[^/]+\/([^,]+)/.exec(auth)![1]!;
  const [date, region, service] = scope.split('/');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((h) => `${h}:${String(req.headers[h]).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = ['POST', '/', '', canonicalHeaders, signedHeaders, createHash('sha256').update(body).digest('hex')].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', String(req.headers['x-amz-date']), scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  return { signedHeaders, scope, signature: createHmac('sha256', key).update(stringToSign).digest('hex') };
}

test('every request is signed with SigV4 for dynamodb in its region, over the host, target and session token', async () => {
  const { url, seen, server } = await recorder([[200, { Item: { pk: { S: 'x' } } }]]);
  try {
    const db = new DynamoDb({ region: 'eu-west-2', endpoint: url, credentials });
    await db.getItem('t', { pk: { S: 'x' } });
    const { req, body } = seen[0]!;
    expect(req.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(req.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(JSON.parse(body)).toEqual({ TableName: 't', Key: { pk: { S: 'x' } }, ConsistentRead: true });
    expect(req.headers['x-amz-security-token']).toBe(credentials.sessionToken);
    const { signedHeaders, scope, signature } = expectedSignature(req, body, credentials.secretAccessKey);
    expect(scope).toMatch(/^\d{8}\/eu-west-2\/dynamodb\/aws4_request$/);
    for (const h of ['host', 'x-amz-target', 'x-amz-date', 'x-amz-security-token', 'content-type']) expect(signedHeaders.split(';')).toContain(h);
    expect(String(req.headers.authorization)).toBe(
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    );
  } finally {
    await close(server);
  }
});

test('one retry after a 5xx or throttling; none after a refusal such as a failed condition', async () => {
  const throttled = await recorder([
    [400, { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' }],
    [200, {}],
  ]);
  const down = await recorder([[503, { __type: 'com.amazon.coral.service#ServiceUnavailableException' }]]);
  const refused = await recorder([
    [400, { __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'The conditional request failed' }],
  ]);
  try {
    const client = (url: string) => new DynamoDb({ region: 'us-east-1', endpoint: url, credentials });
    await client(throttled.url).putItem('t', { pk: { S: 'x' } }, 'attribute_not_exists(pk)');
    expect(throttled.seen).toHaveLength(2);
    const unavailable = await client(down.url)
      .getItem('t', { pk: { S: 'x' } })
      .catch((e: unknown) => e);
    expect(unavailable).toMatchObject({ name: 'ServiceUnavailableException', status: 503 });
    expect(down.seen).toHaveLength(2);
    const conflict = await client(refused.url)
      .putItem('t', { pk: { S: 'x' } }, 'attribute_not_exists(pk)')
      .catch((e: unknown) => e);
    expect(conflict).toMatchObject({ name: 'ConditionalCheckFailedException', status: 400, message: 'The conditional request failed' });
    expect(refused.seen).toHaveLength(1);
  } finally {
    await Promise.all([close(throttled.server), close(down.server), close(refused.server)]);
  }
});

test('an endpoint that never answers is abandoned after the timeout, twice, then fails', async () => {
  let requests = 0;
  const hanging = createServer(() => void requests++);
  const url = await listen(hanging);
  try {
    const err = await new DynamoDb({ region: 'us-east-1', endpoint: url, credentials, timeoutMs: 200 })
      .getItem('t', { pk: { S: 'x' } })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/timed out/);
    expect(requests).toBe(2);
  } finally {
    hanging.closeAllConnections();
    await close(hanging);
  }
});

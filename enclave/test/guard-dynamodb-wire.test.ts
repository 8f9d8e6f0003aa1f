/**
 * The guard's DynamoDB client on the wire (src/guard/dynamodb.ts): the
 * headers it sends, in the order AWS's signer left them, signed as AWS's
 * signer signs them (`@smithy/signature-v4`, recomputed here for the date the
 * request carries); the body as before (key order, base64 of exactly the
 * bytes given, views included); and answers read as before (base64 in any
 * form Node decodes, attribute names that are not plain property names).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { DynamoDb } from '../src/guard/dynamodb.js';
import { NodeSha256 } from './support/node-sha256.js';

const base = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

interface Seen {
  req: IncomingMessage;
  body: string;
}

async function stub(answer: unknown): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ req, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}
const close = (server: Server): Promise<void> => new Promise((r) => server.close(() => r()));

/** The headers as received, name → value, in the order they came (without node's own Connection). */
const received = (req: IncomingMessage): Array<[string, string]> => {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) out.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  return out.filter(([name]) => name.toLowerCase() !== 'connection');
};

test.each([
  ['with a session token', { ...base, sessionToken: 'FwoGZXIvYXdzEJr//////////wEaDEXAMPLE+token/==' }],
  ['without one', base],
])('the request on the wire: the headers AWS’s signer makes, in its order, then the length (%s)', async (_, credentials) => {
  const { url, seen, server } = await stub({ Attributes: { pk: { S: 'wallet#w' } } });
  try {
    const db = new DynamoDb({ region: 'eu-central-1', endpoint: url, credentials });
    await db.updateItem(
      'guard',
      { pk: { S: 'wallet#w' } },
      { expression: 'SET a = :a', condition: 'attribute_exists(pk)', values: { ':a': { N: '1' } }, names: { '#t': 'x' }, returnNew: true },
    );
    db.destroy();
    const { req, body } = seen[0]!;
    const headers = received(req);
    const host = new URL(url).host;
    // What smithy's signer makes of the same request at the same second.
    const at = headers.find(([n]) => n === 'x-amz-date')![1];
    const signingDate = new Date(`${at.slice(0, 4)}-${at.slice(4, 6)}-${at.slice(6, 8)}T${at.slice(9, 11)}:${at.slice(11, 13)}:${at.slice(13, 15)}Z`);
    const signer = new SignatureV4({ credentials, region: 'eu-central-1', service: 'dynamodb', sha256: NodeSha256 });
    const expected = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: Number(new URL(url).port),
        path: '/',
        query: {},
        headers: { host, 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.UpdateItem' },
        body,
      },
      { signingDate },
    );
    expect(headers).toEqual([...Object.entries(expected.headers), ['content-length', String(Buffer.byteLength(body))]]);
    expect(Object.keys(expected.headers)).toEqual([
      'host',
      'content-type',
      'x-amz-target',
      'x-amz-date',
      ...('sessionToken' in credentials ? ['x-amz-security-token'] : []),
      'x-amz-content-sha256',
      'authorization',
    ]);
    expect(req.headers.connection).toBe('keep-alive');
    // The body's keys in the order they always had.
    expect(body).toBe(
      '{"TableName":"guard","Key":{"pk":{"S":"wallet#w"}},"UpdateExpression":"SET a = :a","ConditionExpression":"attribute_exists(pk)",' +
        '"ExpressionAttributeValues":{":a":{"N":"1"}},"ExpressionAttributeNames":{"#t":"x"},"ReturnValues":"ALL_NEW"}',
    );
  } finally {
    await close(server);
  }
});

test('empty values and names are left out, and no ReturnValues without returnNew', async () => {
  const { url, seen, server } = await stub({});
  try {
    const db = new DynamoDb({ region: 'us-east-1', endpoint: url, credentials: base });
    expect(await db.updateItem('t', { pk: { S: 'x' } }, { expression: 'REMOVE a', condition: 'attribute_exists(pk)', values: {}, names: {} })).toBeUndefined();
    await db.updateItem('t', { pk: { S: 'x' } }, { expression: 'REMOVE a', condition: 'attribute_exists(pk)', values: {} });
    db.destroy();
    for (const { body } of seen)
      expect(body).toBe('{"TableName":"t","Key":{"pk":{"S":"x"}},"UpdateExpression":"REMOVE a","ConditionExpression":"attribute_exists(pk)"}');
  } finally {
    await close(server);
  }
});

test('binary values: exactly the bytes of the view given, in base64, also for a view into a larger buffer', async () => {
  const { url, seen, server } = await stub({});
  try {
    const db = new DynamoDb({ region: 'us-east-1', endpoint: url, credentials: base });
    const whole = Uint8Array.from({ length: 64 }, (_, i) => i);
    const view = whole.subarray(5, 17);
    const pooled = Buffer.from([250, 251, 252]); // a slice of Node's pool
    await db.putItem(
      't',
      { pk: { S: 'x' }, a: { B: view }, b: { B: pooled }, c: { B: new Uint8Array(0) }, m: { M: { d: { B: view } } } },
      'attribute_not_exists(pk)',
    );
    db.destroy();
    const sent = JSON.parse(seen[0]!.body) as { Item: Record<string, { B?: string; M?: { d: { B: string } } }> };
    expect(sent.Item.a!.B).toBe(Buffer.from(view).toString('base64'));
    expect(sent.Item.b!.B).toBe('+vv8');
    expect(sent.Item.c!.B).toBe('');
    expect(sent.Item.m!.M!.d.B).toBe(Buffer.from(view).toString('base64'));
  } finally {
    await close(server);
  }
});

test('answers: base64 decoded as Buffer.from decodes it, into arrays of their own; odd attribute names kept as own properties', async () => {
  const forms = ['AQID', 'AQ==', 'AQ', '', 'AQ==\n', 'A Q I D', '-_8', Buffer.from(Uint8Array.from({ length: 700 }, (_, i) => i)).toString('base64')];
  const attributes: Record<string, unknown> = { pk: { S: 'x' }, ['__proto__']: { S: 'p' }, constructor: { N: '1' }, skipped: { BOOL: true } };
  forms.forEach((f, i) => (attributes[`b${i}`] = { B: f }));
  const { url, server } = await stub({ Attributes: attributes });
  try {
    const db = new DynamoDb({ region: 'us-east-1', endpoint: url, credentials: base });
    const item = (await db.updateItem('t', { pk: { S: 'x' } }, { expression: 'SET a = :a', condition: 'c', values: {}, returnNew: true }))!;
    db.destroy();
    forms.forEach((f, i) => {
      const got = (item[`b${i}`] as { B: Uint8Array }).B;
      expect(got).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(got)).toBe(false);
      expect(got.byteOffset).toBe(0);
      expect(got.buffer.byteLength).toBe(got.length);
      expect([...got]).toEqual([...Buffer.from(f, 'base64')]);
    });
    expect(Object.getPrototypeOf(item)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(item, '__proto__')?.value).toEqual({ S: 'p' });
    expect(item.constructor).toEqual({ N: '1' });
    expect('skipped' in item).toBe(false);
    expect(Object.keys(item)).toEqual(['pk', '__proto__', 'constructor', ...forms.map((_, i) => `b${i}`)]);
  } finally {
    await close(server);
  }
});

test('returnNew with `only`: the same request (ALL_NEW), and only that attribute of the answer converted', async () => {
  const guesses = { M: { t1: { S: 'p:1' }, t2: { S: 'f:2' } } };
  const { url, seen, server } = await stub({
    Attributes: { pk: { S: 'wallet#w' }, blob: { B: 'not base64 at all: never decoded' }, guesses, ['__proto__']: { S: 'p' }, rev: { S: 'r' } },
  });
  try {
    const db = new DynamoDb({ region: 'us-east-1', endpoint: url, credentials: base });
    const write = { expression: 'SET a = :a', condition: 'attribute_exists(pk)', values: { ':a': { N: '1' } }, returnNew: true };
    const whole = (await db.updateItem('t', { pk: { S: 'x' } }, write))!;
    const one = (await db.updateItem('t', { pk: { S: 'x' } }, { ...write, only: 'guesses' }))!;
    const odd = (await db.updateItem('t', { pk: { S: 'x' } }, { ...write, only: '__proto__' }))!;
    const inherited = (await db.updateItem('t', { pk: { S: 'x' } }, { ...write, only: 'toString' }))!;
    db.destroy();
    expect(seen.map((s) => s.body)).toEqual(Array(4).fill(seen[0]!.body));
    expect(JSON.parse(seen[0]!.body).ReturnValues).toBe('ALL_NEW');
    expect(Object.keys(whole)).toEqual(['pk', 'blob', 'guesses', '__proto__', 'rev']);
    expect(one).toEqual({ guesses: { M: { t1: { S: 'p:1' }, t2: { S: 'f:2' } } } });
    expect(Object.keys(one)).toEqual(['guesses']);
    expect(Object.getPrototypeOf(odd)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(odd, '__proto__')?.value).toEqual({ S: 'p' });
    expect(inherited).toEqual({});
  } finally {
    await close(server);
  }
});

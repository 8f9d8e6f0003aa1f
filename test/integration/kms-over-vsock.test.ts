/**
 * KMS traffic on Nitro: TLS made inside the enclave, carried over vsock to the
 * parent's vsock-proxy, which relays bytes to the KMS endpoint. Here the vsock
 * addon is the stand-in of proto/test, the "vsock-proxy" relays stand-in vsock
 * streams to a local HTTPS server, and the server's certificate comes from a
 * private CA: the request succeeds only if TLS really runs end to end. The
 * guard's DynamoDB client takes the same way with its own HTTP/1.1 client.
 */
import { p384 } from '@noble/curves/nist.js';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer, request, type Server } from 'node:https';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { parseAddress } from '@enclave-wallet/proto';
import { createVsockTransport } from '../../proto/src/transport/vsock.js';
import { createVsockStandIn } from '../../proto/test/vsock-standin.js';
import { connectThroughProxy, createVsockHttpsAgent } from '../../enclave/src/kms/vsock-agent.js';
import { DynamoDb } from '../../enclave/src/guard/dynamodb.js';
import { issueCertificate } from '../../devtools/src/nsm/x509-builder.js';

function selfSigned(name: string): { certPem: string; keyPem: string } {
  const { privateKey: sk, certificate } = issueCertificate({ subject: name, lifetimeMs: 3600_000, ca: false });
  const pub = p384.getPublicKey(sk, false);
  const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  const key = createPrivateKey({ format: 'jwk', key: { kty: 'EC', crv: 'P-384', d: b64u(sk), x: b64u(pub.subarray(1, 49)), y: b64u(pub.subarray(49)) } });
  return { certPem: new X509Certificate(Buffer.from(certificate)).toString(), keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string };
}

const kmsHost = 'kms.eu-west-1.amazonaws.com';
const tlsIdentity = selfSigned(kmsHost);
let https: Server;
let httpsPort: number;
const seenByProxy: Buffer[] = [];
const standIn = createVsockStandIn();
const vsock = createVsockTransport(() => standIn.binding);

beforeAll(async () => {
  https = createServer({ key: tlsIdentity.keyPem, cert: tlsIdentity.certPem }, (req, res) => {
    res.setHeader('content-type', 'application/x-amz-json-1.1');
    res.end(JSON.stringify({ target: req.headers['x-amz-target'], host: req.headers.host }));
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  httpsPort = (https.address() as AddressInfo).port;
  // The parent's vsock-proxy: relays every vsock stream to the endpoint, blind to what it carries.
  await vsock.listen(parseAddress('vsock://3:8000'), (stream) => {
    const upstream = tcpConnect(httpsPort, '127.0.0.1');
    stream.on('data', (chunk: Buffer) => seenByProxy.push(Buffer.from(chunk)));
    stream.pipe(upstream).pipe(stream);
    upstream.on('error', () => stream.destroy());
    stream.on('error', () => upstream.destroy());
  });
});
afterAll(() => new Promise((r) => https.close(r)));

function post(agent: ReturnType<typeof createVsockHttpsAgent>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: kmsHost,
        port: 443,
        path: '/',
        method: 'POST',
        agent,
        headers: { 'x-amz-target': 'TrentService.GenerateRandom', 'content-type': 'application/x-amz-json-1.1' },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end('{"NumberOfBytes":32}');
  });
}

test('an HTTPS request reaches the endpoint through vsock-proxy, with TLS end to end', async () => {
  const agent = createVsockHttpsAgent({ proxy: 'vsock://3:8000', transport: vsock, tls: { ca: [tlsIdentity.certPem] } });
  const answer = await post(agent);
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.body)).toEqual({ target: 'TrentService.GenerateRandom', host: kmsHost });
  // The proxy relayed only ciphertext: neither the operation nor the body is visible to it.
  const relayed = Buffer.concat(seenByProxy).toString('latin1');
  expect(relayed.length).toBeGreaterThan(0);
  expect(relayed).not.toContain('TrentService');
  expect(relayed).not.toContain('NumberOfBytes');
  agent.destroy();
});

test('a certificate the enclave does not trust is refused: the proxy cannot impersonate KMS', async () => {
  const agent = createVsockHttpsAgent({ proxy: 'vsock://3:8000', transport: vsock, tls: { ca: [selfSigned(kmsHost).certPem] } });
  await expect(post(agent)).rejects.toThrow();
  agent.destroy();
});

test('with the roots nitro mode uses (the Amazon roots only), a relay with its own certificate for the KMS name is refused', async () => {
  const { AMAZON_ROOTS } = await import('../../enclave/src/kms/amazon-roots.js');
  const agent = createVsockHttpsAgent({ proxy: 'vsock://3:8000', transport: vsock, tls: { ca: [...AMAZON_ROOTS] } });
  // The server's certificate names kms.eu-west-1.amazonaws.com exactly; only its issuer is not Amazon's.
  await expect(post(agent)).rejects.toThrow(/certificate/i);
  agent.destroy();
});

describe('the guard’s DynamoDB client (its own HTTP/1.1 client) through vsock-proxy', () => {
  const dynamoHost = 'dynamodb.eu-west-1.amazonaws.com';
  const identity = selfSigned(dynamoHost);
  let server: Server;
  const relayed: Buffer[] = [];
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

  beforeAll(async () => {
    server = createServer({ key: identity.keyPem, cert: identity.certPem }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        // What the server saw, as the item read.
        res.end(
          JSON.stringify({ Item: { host: { S: req.headers.host }, target: { S: req.headers['x-amz-target'] }, table: { S: JSON.parse(body).TableName } } }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await vsock.listen(parseAddress('vsock://3:8001'), (stream) => {
      const upstream = tcpConnect(port, '127.0.0.1');
      stream.on('data', (chunk: Buffer) => relayed.push(Buffer.from(chunk)));
      stream.pipe(upstream).pipe(stream);
      upstream.on('error', () => stream.destroy());
      stream.on('error', () => upstream.destroy());
    });
  });
  afterAll(() => new Promise((r) => server.close(r)));

  const guardDb = (ca: string[]): DynamoDb =>
    new DynamoDb({
      region: 'eu-west-1',
      credentials,
      connect: (servername) => connectThroughProxy({ proxy: 'vsock://3:8001', transport: vsock, tls: { ca } }, servername),
    });

  test('reads reach DynamoDB’s name with TLS end to end, on one kept connection; the proxy sees only ciphertext', async () => {
    const db = guardDb([identity.certPem]);
    for (let i = 0; i < 3; i++) {
      const item = await db.getItem('guard-table', { pk: { S: 'wallet#w' } });
      expect(item).toEqual({ host: { S: dynamoHost }, target: { S: 'DynamoDB_20120810.GetItem' }, table: { S: 'guard-table' } });
    }
    db.destroy();
    const seen = Buffer.concat(relayed).toString('latin1');
    expect(seen).not.toContain('DynamoDB_20120810');
    expect(seen).not.toContain('guard-table');
    expect(seen).not.toContain('wallet#w');
    // One TLS handshake: a single ClientHello (record type 22, handshake type 1) went through the proxy.
    expect(relayed.filter((c) => c[0] === 0x16 && c[5] === 0x01)).toHaveLength(1);
  });

  test('a certificate the enclave does not trust is refused, and nothing is read', async () => {
    const db = guardDb([selfSigned(dynamoHost).certPem]);
    await expect(db.getItem('guard-table', { pk: { S: 'wallet#w' } })).rejects.toThrow(/could not connect: .*certificate/i);
    db.destroy();
  });
});

test('a bad record right after the handshake (the parent can add one): the guard’s and KMS’s requests fail, the enclave does not throw', async () => {
  // A TLS 1.3 server for the KMS name, and a "vsock-proxy" that holds the server's first flight a moment and sends it
  // with a bogus application-data record appended: the client completes its handshake and fails on that record in
  // the same read, before whoever asked for the connection has attached its listeners.
  const accepted = new Set<import('node:net').Socket>();
  const server = createTlsServer({ key: tlsIdentity.keyPem, cert: tlsIdentity.certPem, minVersion: 'TLSv1.3' }, (s) => s.on('error', () => {}));
  server.on('connection', (c: import('node:net').Socket) => accepted.add(c));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await vsock.listen(parseAddress('vsock://3:8002'), (stream) => {
    const upstream = tcpConnect((server.address() as AddressInfo).port, '127.0.0.1');
    stream.on('data', (d: Buffer) => upstream.write(d));
    const held: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    upstream.on('data', (d: Buffer) => {
      held.push(d);
      timer ??= setTimeout(() => stream.write(Buffer.concat([...held, Buffer.from([0x17, 3, 3, 0, 32]), Buffer.alloc(32, 7)])), 50);
    });
    upstream.on('error', () => stream.destroy());
    stream.on('error', () => upstream.destroy());
  });
  const uncaught: Error[] = [];
  const onUncaught = (err: Error): void => void uncaught.push(err);
  process.prependListener('uncaughtException', onUncaught);
  try {
    const proxy = { proxy: 'vsock://3:8002', transport: vsock, tls: { ca: [tlsIdentity.certPem] } };
    const db = new DynamoDb({
      region: 'eu-west-1',
      endpoint: `https://${kmsHost}`,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
      connect: (servername, signal) => connectThroughProxy(proxy, servername, signal),
    });
    await expect(db.getItem('guard-table', { pk: { S: 'wallet#w' } })).rejects.toThrow();
    db.destroy();
    const agent = createVsockHttpsAgent(proxy);
    await expect(post(agent)).rejects.toThrow();
    agent.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(uncaught).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const c of accepted) c.destroy();
    await new Promise((r) => server.close(r));
  }
});

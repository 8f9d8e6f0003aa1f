/**
 * The SDK's API transport on Node (client/src/node-http.ts): without an app `fetch`, the API's requests go through
 * node:http / node:https with kept-alive connections instead of Node's fetch. Checked against servers of this test
 * (a unit test of the transport, through the SDK's public calls): which client sent, and fetch whenever the app set
 * something up for it (a stub, a proxy variable, a dispatcher of its own); connections kept, shared by clients, and
 * closed before the server would; answers read whole (a UTF-8 character split across chunks, a byte order mark), cut
 * answers and untrusted certificates as NETWORK_ERROR, and a private CA trusted through NODE_EXTRA_CA_CERTS, as
 * Node's fetch would; and the deadline of each request on either transport (TIMEOUT), and of a call to the app's
 * Solana node.
 */
import { p384 } from '@noble/curves/nist.js';
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, EnclaveWalletApiError } from '@enclave-wallet/client';
import { IDLE_CONNECTION_MS, nodeHttpApplies } from '../../client/src/node-http.js';
import { checkBlockhashOnCluster, SOLANA_NODE_TIMEOUT_MS } from '../../client/src/nodes.js';
import { API_REQUEST_TIMEOUT_MS } from '../../client/src/session.js';
import { issueCertificate } from '../../devtools/src/nsm/x509-builder.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const ROOT = { sha256: '00'.repeat(32) }; // never used: no call here needs the enclave's attestation

interface Seen {
  headers: IncomingMessage['headers'];
  connection: number;
}

/** A stand-in API: login and the wallet list, each request recorded with the connection it came on. */
function standIn(handler?: (req: IncomingMessage, res: ServerResponse) => boolean) {
  const seen: Seen[] = [];
  const closedByClient: number[] = [];
  let connections = 0;
  const app = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket as Socket & { n?: number };
    seen.push({ headers: req.headers, connection: socket.n! });
    req.resume();
    req.on('end', () => {
      if (handler?.(req, res)) return;
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/v1/auth/login')
        send(200, { accessToken: 'a', refreshToken: 'r', expiresIn: 900, user: { id: 'u-1', email: 'ü@example.com', provider: 'dev' } });
      else if (req.url === '/v1/wallets') send(200, { wallets: [] });
      else send(404, { error: { code: 'NOT_FOUND', message: 'no such route', requestId: 'req-1' } });
    });
  };
  const track = (server: Server): Server => {
    server.keepAliveTimeout = 60_000; // longer than the client's idle limit: any close seen is the client's
    server.on('connection', (socket: Socket & { n?: number }) => {
      socket.n = ++connections;
      let ending = false;
      socket.on('end', () => (ending = true)); // the client's FIN
      socket.on('close', () => ending && closedByClient.push(socket.n!));
    });
    return server;
  };
  /** An HTTP server of its own for the stand-in, closed after the tests: its base URL. */
  const serve = async (): Promise<string> => {
    const server = track(createHttpServer(app));
    servers.push(server);
    return `http://127.0.0.1:${await listen(server)}`;
  };
  return { seen, closedByClient, app, track, serve, connections: () => connections };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return String((server.address() as AddressInfo).port);
}
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

test('on Node, without an app fetch: node:http, one kept-alive connection for calls in a row, an error answer read whole', async () => {
  const api = standIn();
  const client = createClient({ baseUrl: await api.serve(), root: ROOT });
  const session = await client.login('id-token');
  expect(session.user.email).toBe('ü@example.com');
  expect(await client.listWallets()).toEqual([]);
  expect(await client.listWallets()).toEqual([]);
  const err = (await client.getWallet('w-none').catch((e: unknown) => e)) as EnclaveWalletApiError;
  expect(err).toBeInstanceOf(EnclaveWalletApiError);
  expect(err).toMatchObject({ code: 'NOT_FOUND', status: 404, requestId: 'req-1' });
  // Node's fetch (undici) sends `user-agent: node` and `sec-fetch-mode: cors`; node:http sends neither.
  expect(api.seen.map((s) => [s.headers['user-agent'], s.headers['sec-fetch-mode']])).toEqual(Array(4).fill([undefined, undefined]));
  expect(api.seen.map((s) => s.headers['content-length'])).toEqual([String('{"idToken":"id-token"}'.length), undefined, undefined, undefined]);
  expect(api.seen.map((s) => s.connection)).toEqual([1, 1, 1, 1]);
});

test('clients of one process share kept-alive connections; an answer with a byte order mark reads as with fetch', async () => {
  const api = standIn((req, res) => {
    if (req.url !== '/v1/wallets') return false;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('\uFEFF{"wallets":[]}');
    return true;
  });
  const baseUrl = await api.serve();
  for (let i = 0; i < 5; i++) {
    const client = createClient({ baseUrl, root: ROOT });
    await client.login('id-token');
    expect(await client.listWallets()).toEqual([]);
  }
  expect(new Set(api.seen.map((s) => s.connection)).size).toBe(1);
  expect(api.seen.every((s) => s.headers['user-agent'] === undefined)).toBe(true);
});

test('fetch, as before, wherever the app set something up for it: a stub of globalThis.fetch, a proxy variable, a dispatcher of its own', async () => {
  const api = standIn();
  const baseUrl = await api.serve();
  const login = async (): Promise<string | undefined> => {
    await createClient({ baseUrl, root: ROOT }).login('id-token');
    return api.seen.at(-1)!.headers['user-agent'];
  };
  expect(nodeHttpApplies()).toBe(true);
  expect(await login()).toBeUndefined();
  // A test's stub (or a tracing wrapper) set after the SDK was loaded.
  const nodeFetch = globalThis.fetch;
  let stubbed = 0;
  globalThis.fetch = (input, init) => (stubbed++, nodeFetch(input, init));
  try {
    expect(await login()).toBe('node');
    expect(stubbed).toBe(1);
  } finally {
    globalThis.fetch = nodeFetch;
  }
  // A proxy variable, in either case (Node 24's fetch honours them with NODE_USE_ENV_PROXY; the app decides).
  for (const variable of ['HTTPS_PROXY', 'http_proxy', 'NO_PROXY', 'NODE_USE_ENV_PROXY']) {
    process.env[variable] = variable === 'NODE_USE_ENV_PROXY' ? '1' : variable === 'NO_PROXY' ? '127.0.0.1' : 'http://127.0.0.1:9';
    try {
      expect(nodeHttpApplies()).toBe(false);
      if (variable === 'NO_PROXY') expect(await login()).toBe('node');
    } finally {
      delete process.env[variable];
    }
  }
  // undici's global dispatcher: its default Agent (which Node's fetch sets on first use; on the outer global, out of
  // sight of Jest's sandbox) keeps node:http; any other class does not.
  const key = Symbol.for('undici.globalDispatcher.1');
  const dispatchers = globalThis as unknown as Record<symbol, unknown>;
  const before = dispatchers[key];
  try {
    dispatchers[key] = new (class Agent {})();
    expect(nodeHttpApplies()).toBe(true);
    dispatchers[key] = new (class ProxyAgent {})();
    expect(nodeHttpApplies()).toBe(false);
  } finally {
    dispatchers[key] = before;
  }
  expect(nodeHttpApplies()).toBe(true);
  expect(await login()).toBeUndefined();
});

test('a success answer that is not JSON (a proxy’s page) is INVALID_RESPONSE, not an empty result', async () => {
  const api = standIn((req, res) => {
    if (req.url !== '/v1/wallets') return false;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>Sign in to the network</html>');
    return true;
  });
  const client = createClient({ baseUrl: await api.serve(), root: ROOT });
  await client.login('id-token');
  await expect(client.listWallets()).rejects.toMatchObject({ name: 'EnclaveWalletApiError', code: 'INVALID_RESPONSE', status: 200 });
});

test('with an app fetch, that fetch sends every request', async () => {
  const api = standIn();
  const baseUrl = await api.serve();
  let calls = 0;
  const client = createClient({
    baseUrl,
    root: ROOT,
    fetch: (input, init) => (calls++, fetch(input, init)),
  });
  await client.login('id-token');
  await client.listWallets();
  expect(calls).toBe(2);
  expect(api.seen.map((s) => s.headers['user-agent'])).toEqual(['node', 'node']);
});

test(`an idle connection is closed by the client after ${IDLE_CONNECTION_MS / 1000} s, before a server closing at 5 s would, and the next call opens a new one`, async () => {
  const api = standIn();
  const client = createClient({ baseUrl: await api.serve(), root: ROOT });
  await client.login('id-token');
  await new Promise((r) => setTimeout(r, IDLE_CONNECTION_MS - 1_000));
  expect(api.closedByClient).toEqual([]);
  await new Promise((r) => setTimeout(r, 1_500));
  expect(api.closedByClient).toEqual([1]);
  await client.listWallets();
  expect(api.seen.map((s) => s.connection)).toEqual([1, 2]);
}, 15_000);

test('an answer split inside a UTF-8 character is read whole; an answer cut short is NETWORK_ERROR, and a POST is not sent again', async () => {
  const api = standIn((req, res) => {
    if (req.url === '/v1/auth/login' && api.seen.length === 1) {
      const body = Buffer.from(
        JSON.stringify({ accessToken: 'a', refreshToken: 'r', expiresIn: 900, user: { id: 'u-1', email: '€@example.com', provider: 'dev' } }),
      );
      const cut = body.indexOf(Buffer.from('€')) + 1; // inside the three bytes of €
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.write(body.subarray(0, cut));
      setTimeout(() => res.end(body.subarray(cut)), 20);
      return true;
    }
    if (req.url === '/v1/auth/login') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
      res.write('{"accessToken":');
      setTimeout(() => res.destroy(), 20);
      return true;
    }
    return false;
  });
  const client = createClient({ baseUrl: await api.serve(), root: ROOT });
  expect((await client.login('id-token')).user.email).toBe('€@example.com');
  await expect(client.login('id-token')).rejects.toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
  expect(api.seen).toHaveLength(2);
});

describe('https', () => {
  let url = '';
  let caFile = '';
  beforeAll(async () => {
    const { privateKey: sk, certificate } = issueCertificate({ subject: 'localhost', lifetimeMs: 3600_000, ca: false });
    const pub = p384.getPublicKey(sk, false);
    const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
    const key = createPrivateKey({ format: 'jwk', key: { kty: 'EC', crv: 'P-384', d: b64u(sk), x: b64u(pub.subarray(1, 49)), y: b64u(pub.subarray(49)) } });
    const certPem = new X509Certificate(Buffer.from(certificate)).toString();
    caFile = join(mkdtempSync(join(tmpdir(), 'sdk-https-')), 'ca.pem');
    writeFileSync(caFile, certPem);
    const api = standIn();
    const server = api.track(createHttpsServer({ key: key.export({ type: 'pkcs8', format: 'pem' }), cert: certPem }, api.app));
    servers.push(server);
    url = `https://localhost:${await listen(server)}`;
  });

  test('a certificate Node does not trust: NETWORK_ERROR, nothing read', async () => {
    const client = createClient({ baseUrl: url, root: ROOT });
    const err = (await client.login('id-token').catch((e: unknown) => e)) as EnclaveWalletApiError;
    expect(err).toMatchObject({ code: 'NETWORK_ERROR' });
    expect(String((err.cause as Error).message)).toMatch(/certificate/i);
  });

  test('a private CA trusted through NODE_EXTRA_CA_CERTS, as with Node’s fetch', async () => {
    const script = `import { createClient } from ${JSON.stringify(join(repo, 'client/dist/index.js'))};
const c = createClient({ baseUrl: ${JSON.stringify(url)}, root: { sha256: '00'.repeat(32) } });
process.stdout.write((await c.login('id-token')).user.email);`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    expect(out).toBe('ü@example.com');
  });
});

describe('deadlines', () => {
  /** A stand-in that logs in, then never answers a wallet's or the enclave's calls, and answers a second login's headers and half its body. */
  const stalling = () => {
    const held: ServerResponse[] = [];
    const api = standIn((req, res) => {
      if (req.url?.startsWith('/v1/wallets') || req.url?.startsWith('/v1/enclave/')) {
        held.push(res);
        return true;
      }
      if (req.url === '/v1/auth/login' && api.seen.filter((s) => s.headers['content-type']).length > 1) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
        res.write('{"accessToken":');
        held.push(res);
        return true;
      }
      return false;
    });
    return { api, held };
  };

  for (const transport of ['node:http', 'fetch'] as const) {
    test(`${transport}: past requestTimeoutMs a call is TIMEOUT, whether no answer began or one stopped halfway; a read is not sent again, and a POST says its outcome is not known`, async () => {
      const { api } = stalling();
      const base = await api.serve();
      const client = createClient({ baseUrl: base, root: ROOT, requestTimeoutMs: 400, ...(transport === 'fetch' ? { fetch: globalThis.fetch } : {}) });
      await client.login('id-token');
      let t = performance.now();
      const read = (await client.listWallets().catch((e: unknown) => e)) as EnclaveWalletApiError;
      expect(performance.now() - t).toBeGreaterThanOrEqual(390);
      expect(performance.now() - t).toBeLessThan(5_000);
      expect(read).toBeInstanceOf(EnclaveWalletApiError);
      expect(read).toMatchObject({ code: 'TIMEOUT', status: 0, message: `no answer from the API at ${base} to GET /v1/wallets within 0.4 s` });
      expect(api.seen.filter((s) => !s.headers['content-type'])).toHaveLength(1); // the list, sent once
      t = performance.now();
      const write = (await client.login('id-token').catch((e: unknown) => e)) as EnclaveWalletApiError;
      expect(performance.now() - t).toBeLessThan(5_000);
      expect(write).toMatchObject({
        code: 'TIMEOUT',
        status: 0,
        message: `no answer from the API at ${base} to POST /v1/auth/login within 0.4 s; whether it was carried out is not known`,
      });
      expect(api.seen).toHaveLength(3);
    });
  }

  test('an app fetch that drops the signal (a wrapper passing on some of its arguments) is cut by the deadline all the same', async () => {
    const { api } = stalling();
    const base = await api.serve();
    const wrapper = ((url: string, init: RequestInit) => fetch(url, { method: init.method, headers: init.headers, body: init.body })) as typeof fetch;
    const client = createClient({ baseUrl: base, root: ROOT, requestTimeoutMs: 400, fetch: wrapper });
    await client.login('id-token');
    const t = performance.now();
    await expect(client.listWallets()).rejects.toMatchObject({ code: 'TIMEOUT', status: 0 });
    expect(performance.now() - t).toBeLessThan(5_000);
  });

  test('the deadline is the whole call’s: a 503 that comes late leaves its retry only the rest', async () => {
    let lists = 0;
    const api = standIn((req, res) => {
      if (req.url !== '/v1/wallets') return false;
      if (++lists === 1)
        setTimeout(() => res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"ENCLAVE_UNAVAILABLE","message":"x"}}'), 1_000);
      return true; // the retry: never answered
    });
    const client = createClient({ baseUrl: await api.serve(), root: ROOT, requestTimeoutMs: 1_500 });
    await client.login('id-token');
    const t = performance.now();
    await expect(client.listWallets()).rejects.toMatchObject({ code: 'TIMEOUT' });
    const ms = performance.now() - t;
    expect(lists).toBe(2);
    // 1.5 s for the call; a deadline per request would have given the retry 1.5 s of its own (2.5 s in all).
    expect(ms).toBeGreaterThanOrEqual(1_490);
    expect(ms).toBeLessThan(2_300);
  });

  test('the EIP-1193 provider answers a call past its deadline as EIP-1474 "resource unavailable" (-32002), not a rejection', async () => {
    const { api } = stalling();
    const client = createClient({ baseUrl: await api.serve(), root: ROOT, requestTimeoutMs: 400 });
    await client.login('id-token');
    const provider = client.toEip1193Provider('w-1', {
      getPin: () => Promise.resolve('493817'),
      rpcUrl: 'http://127.0.0.1:1',
      chainId: 1,
      address: '0x0000000000000000000000000000000000000001',
    });
    const err = (await provider
      .request({ method: 'personal_sign', params: ['0x68656c6c6f', '0x0000000000000000000000000000000000000001'] })
      .catch((e: unknown) => e)) as {
      code: number;
      data: { code: string };
    };
    expect({ code: err.code, data: err.data }).toEqual({ code: -32002, data: { code: 'TIMEOUT' } });
  });

  test('without requestTimeoutMs the deadline is 180 s; a value that is not a whole positive number of milliseconds is refused', () => {
    expect(API_REQUEST_TIMEOUT_MS).toBe(180_000);
    for (const requestTimeoutMs of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31])
      expect(() => createClient({ baseUrl: 'http://127.0.0.1:1', root: ROOT, requestTimeoutMs })).toThrow('requestTimeoutMs must be a whole number');
  });

  test("the app's Solana node: a call past its deadline is RPC_ERROR that says so, and names no URL", async () => {
    const held: ServerResponse[] = [];
    const server = createHttpServer((_req, res) => void held.push(res));
    servers.push(server);
    const url = `http://127.0.0.1:${await listen(server)}/secret-key-in-path`;
    const t = performance.now();
    const err = (await checkBlockhashOnCluster(globalThis.fetch, url, 'devnet', '11111111111111111111111111111111', 300).catch(
      (e: unknown) => e,
    )) as EnclaveWalletApiError;
    expect(performance.now() - t).toBeLessThan(5_000);
    expect(err).toMatchObject({
      code: 'RPC_ERROR',
      message: "the app's node for the cluster did not answer isBlockhashValid within 0.3 s; nothing was signed",
    });
    expect(SOLANA_NODE_TIMEOUT_MS).toBe(10_000);
  });
});

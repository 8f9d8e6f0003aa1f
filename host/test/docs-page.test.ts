/**
 * `/docs` (issue 23 §3): each operation's request body and answer shape, rendered on the server from the same
 * `/openapi.json` the host serves; no script, no external asset.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app.js';
import { EnclaveClient } from '../src/enclave-client.js';

let url = '';
let server: Server;
const enclave = new EnclaveClient({ address: 'tcp://127.0.0.1:1' }); // never reached: /docs needs no enclave

beforeAll(async () => {
  server = await new Promise<Server>((resolve) => {
    const s = createApp({ enclave }).listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  enclave.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const unescape = (s: string): string =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The operation's section of the page: its request body and its answers, as text. */
async function section(method: string, path: string): Promise<{ request: string; answers: Record<string, string> }> {
  const html = await (await fetch(`${url}/docs`)).text();
  const start = html.indexOf(`<h3><code>${method} ${path}</code></h3>`);
  expect(start).toBeGreaterThan(0);
  const part = html.slice(start, html.indexOf('</section>', start));
  const request = /<pre class="request">([\s\S]*?)<\/pre>/.exec(part)?.[1] ?? '';
  const answers = Object.fromEntries([...part.matchAll(/<pre class="answer" data-status="(\d+)">([\s\S]*?)<\/pre>/g)].map((m) => [m[1]!, unescape(m[2]!)]));
  return { request: unescape(request), answers };
}

test('login: the body takes idToken; the answer has the tokens and the user', async () => {
  const { request, answers } = await section('POST', '/v1/auth/login');
  expect(request).toMatch(/^\{\n {2}idToken: string \(1–16384 characters\)\n\}$/);
  for (const field of ['accessToken: string', 'refreshToken: string', 'expiresIn: integer', 'user: {', 'id: string', 'email: string', 'provider: string'])
    expect(answers['200']).toContain(field);
});

test('create wallet: pinEnvelope and an optional recoveryPublicKey; 201 with walletId, accounts and createdAt', async () => {
  const { request, answers } = await section('POST', '/v1/wallets');
  expect(request).toMatch(/ {2}pinEnvelope: string \(pattern/);
  expect(request).toMatch(/ {2}recoveryPublicKey\?: string/);
  const created = answers['201']!;
  expect(created).toMatch(/walletId: string/);
  expect(created).toMatch(/accounts: \{\n\s+network: "evm" \| "solana" \| "bitcoin"\n\s+index: integer\n\s+path: string.*\n\s+address: string\n\s+\}\[\]/);
  expect(created).toMatch(/createdAt: string/);
  expect(created).toMatch(/encryptedRecoveryCode\?: string/);
});

test('sign: every (network, kind) body, and the EVM and Solana answers', async () => {
  const { request, answers } = await section('POST', '/v1/wallets/{walletId}/sign');
  for (const kind of ['kind: "transaction"', 'kind: "message"', 'kind: "typed-data"', 'kind: "transaction" | "message"']) expect(request).toContain(kind);
  expect(request).toContain('network: "solana"');
  expect(request).toMatch(/chainId: integer \(≤ 9007199254740991\) \| string/);
  expect(request).toMatch(/transaction: \{\n\s+type\?: "legacy" \| "eip2930" \| "eip1559"/);
  expect(answers['200']).toMatch(/signature: string {2}— EVM: 0x hex/);
  expect(answers['200']).toMatch(/\| \{\n {2}signature: string {2}— Solana: base58/);
});

test('every operation of /openapi.json is on the page, with its body and its answers’ shapes; nothing loaded from elsewhere', async () => {
  const res = await fetch(`${url}/docs`);
  expect(res.headers.get('content-type')).toMatch(/html/);
  const html = await res.text();
  expect(html).not.toMatch(/<script|<link|src=|url\(/i);
  const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, { content?: unknown }> }>>;
  };
  let operations = 0;
  for (const [path, byMethod] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(byMethod)) {
      operations++;
      const { request, answers } = await section(method.toUpperCase(), path.replace(/&/g, '&amp;'));
      expect(Boolean(request)).toBe(Boolean(op.requestBody));
      for (const [status, answer] of Object.entries(op.responses))
        if (answer.content && status !== 'default' && status !== '503' && status !== '403') expect(answers[status]).toMatch(/\S/);
    }
  expect(operations).toBeGreaterThanOrEqual(20);
});

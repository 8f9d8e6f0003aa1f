/** IMDSv2 credentials against a stand-in metadata server on loopback, and their refresh before expiry. */
import { jest } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CredentialRefresher, fetchRoleCredentials, REFRESH_MARGIN_MS, type RoleCredentials } from '../src/credentials.js';

let server: Server;
let endpoint: string;
let issued = 0;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.writeHead(400).end();
      return void res.end('TOKEN-123');
    }
    // IMDSv2: every read needs the session token.
    if (req.headers['x-aws-ec2-metadata-token'] !== 'TOKEN-123') return void res.writeHead(401).end();
    if (req.url === '/latest/meta-data/iam/security-credentials/') return void res.end('enclave-wallet-instance\n');
    if (req.url === '/latest/meta-data/iam/security-credentials/enclave-wallet-instance') {
      issued++;
      return void res.end(
        JSON.stringify({
          Code: 'Success',
          AccessKeyId: `ASIA${issued}`,
          SecretAccessKey: 'secret',
          Token: 'session',
          Expiration: new Date(Date.now() + 3600_000).toISOString(),
        }),
      );
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The SDK's IMDS provider takes its endpoint from here (on EC2 it is the link-local default).
  process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = endpoint;
});
afterAll(() => {
  delete process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
  return new Promise((r) => server.close(r));
});

test('fetches the role credentials with an IMDSv2 session token', async () => {
  const c = await fetchRoleCredentials();
  expect(c).toMatchObject({ accessKeyId: expect.stringMatching(/^ASIA/), secretAccessKey: 'secret', sessionToken: 'session' });
  expect(c.expiration).toBeGreaterThan(Date.now());
  expect(seen.slice(0, 3)).toEqual([
    'PUT /latest/api/token',
    'GET /latest/meta-data/iam/security-credentials/',
    'GET /latest/meta-data/iam/security-credentials/enclave-wallet-instance',
  ]);
});

test('refreshes five minutes before expiry and hands the new credentials over', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
  try {
    let now = 0;
    let n = 0;
    const handed: RoleCredentials[] = [];
    const refresher = new CredentialRefresher(
      async () => ({ accessKeyId: `K${++n}`, secretAccessKey: 's', sessionToken: 't', expiration: now + 3600_000 }),
      async (c) => void handed.push(c),
      () => {},
      () => now,
    );
    await refresher.get();
    expect(handed.map((c) => c.accessKeyId)).toEqual(['K1']);
    now = 3600_000 - REFRESH_MARGIN_MS;
    await jest.advanceTimersByTimeAsync(3600_000 - REFRESH_MARGIN_MS);
    expect(handed.map((c) => c.accessKeyId)).toEqual(['K1', 'K2']);
    refresher.stop();
  } finally {
    jest.useRealTimers();
  }
});

test('a failed refresh is retried while the old credentials still work', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
  try {
    let fail = true;
    const errors: unknown[] = [];
    let loads = 0;
    const refresher = new CredentialRefresher(
      async () => {
        loads++;
        if (loads > 1 && fail) throw new Error('IMDS down');
        return { accessKeyId: `K${loads}`, secretAccessKey: 's', sessionToken: 't', expiration: Date.now() + REFRESH_MARGIN_MS + 1000 };
      },
      async () => {},
      (e) => void errors.push(e),
    );
    await refresher.get();
    await jest.advanceTimersByTimeAsync(1000);
    expect(errors).toHaveLength(1);
    fail = false;
    await jest.advanceTimersByTimeAsync(30_000);
    expect((await refresher.get()).accessKeyId).toBe('K3');
    refresher.stop();
  } finally {
    jest.useRealTimers();
  }
});

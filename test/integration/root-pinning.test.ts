/**
 * Roots are the app's own constants. A root pinned by fingerprint (how an app outside this repository pins the
 * local stack's dev root, as `npm start` prints it) accepts that root's documents and no other; the SDK never asks
 * the host for a root, so a host that switches to a CA of its own and offers its root (as the local stack's demo
 * does at /demo/dev-root.der) is refused before any PIN is sealed; and the AWS root by fingerprint keeps the AWS
 * rules. Real documents from the simulated NSM; the host is a stand-in `fetch` that serves them.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AWS_NITRO_ROOT_G1_SHA256, AttestationError, createClient, verifyAttestationDocument } from '@enclave-wallet/client';
import { readDevRoot, SimulatedNsm } from '../../devtools/src/nsm/index.js';
import { ENCLAVE_CODE_DIR } from '../../enclave/src/platform/index.js';

const newCa = (): { nsm: SimulatedNsm; root: Uint8Array } => {
  const caDir = mkdtempSync(join(tmpdir(), 'dev-ca-'));
  const nsm = new SimulatedNsm({ codeDirs: [ENCLAVE_CODE_DIR], caDir });
  return { nsm, root: readDevRoot(caDir) };
};
const ours = newCa();
const theirs = newCa();
const fingerprint = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');
const envelopeKey = new Uint8Array(32).fill(5);
// What the enclave binds (docs/attestation.md#user-data): the SDK reads the KDF parameters from the document.
const userData = new TextEncoder().encode(JSON.stringify({ v: 1, kdf: { algorithm: 'argon2id', memoryKiB: 65536, iterations: 3, parallelism: 1 } }));

/** A host that attests with `ca` and, like the demo, offers that CA's root; `asked` lists every URL the SDK fetched. */
function host(ca: { nsm: SimulatedNsm; root: Uint8Array }): { fetch: typeof fetch; asked: string[] } {
  const asked: string[] = [];
  const fake = async (input: string | URL | Request): Promise<Response> => {
    const url = new URL(String(input));
    asked.push(url.pathname);
    if (url.pathname === '/demo/dev-root.der') return new Response(Uint8Array.from(ca.root).buffer, { headers: { 'content-type': 'application/pkix-cert' } });
    if (url.pathname !== '/v1/enclave/attestation') return Response.json({ error: { code: 'NOT_FOUND', message: 'no' } }, { status: 404 });
    const nonce = Buffer.from(url.searchParams.get('nonce')!, 'hex');
    const document = Buffer.from(ca.nsm.attest({ publicKey: envelopeKey, nonce, userData })).toString('base64');
    return Response.json({ document, mode: 'simulated', expiresAt: new Date(Date.now() + 60_000).toISOString() });
  };
  return { fetch: fake as typeof fetch, asked };
}

test('a root pinned by fingerprint (as the launcher prints it, or with colons and capitals) accepts its documents', async () => {
  const printed = fingerprint(ours.root);
  const withColons = printed.toUpperCase().match(/../g)!.join(':');
  for (const sha256 of [printed, withColons]) {
    const h = host(ours);
    const wallet = createClient({ baseUrl: 'http://wallet.test', root: { sha256 }, fetch: h.fetch });
    const att = await wallet.attestation();
    expect({ mode: att.mode, key: [...att.publicKey], asked: h.asked }).toEqual({
      mode: 'simulated',
      key: [...envelopeKey],
      asked: ['/v1/enclave/attestation'],
    });
  }
  expect(verifyAttestationDocument(ours.nsm.attest({}), { root: { sha256: printed } }).moduleId).toBeTruthy();
});

test('a host that attests with a CA of its own, and offers its root, is refused: the SDK never asks the host for a root', async () => {
  for (const root of [{ sha256: fingerprint(ours.root) }, ours.root]) {
    const h = host(theirs);
    const wallet = createClient({ baseUrl: 'http://wallet.test', root, fetch: h.fetch });
    wallet.setSession({ accessToken: 'a', refreshToken: 'r', expiresAt: Date.now() + 600_000, user: { id: 'u', email: 'u@example.com', provider: 'dev' } });
    await expect(wallet.attestation()).rejects.toEqual(expect.objectContaining({ name: 'AttestationError', code: 'UNTRUSTED_ROOT' }));
    // Nothing sealed: creating a wallet fails at the attestation, before any request that carries a PIN.
    await expect(wallet.createWallet('493817')).rejects.toBeInstanceOf(AttestationError);
    expect(h.asked.every((path) => path === '/v1/enclave/attestation')).toBe(true);
  }
});

test("the AWS root by fingerprint is 'aws': PCR0 required, and a dev document refused", async () => {
  expect(() => createClient({ baseUrl: 'http://wallet.test', root: { sha256: AWS_NITRO_ROOT_G1_SHA256.toUpperCase() } })).toThrow(
    /needs expectedPcrs with PCR0/,
  );
  const h = host(ours);
  const wallet = createClient({
    baseUrl: 'http://wallet.test',
    root: { sha256: AWS_NITRO_ROOT_G1_SHA256 },
    expectedPcrs: { 0: 'ab'.repeat(48) },
    fetch: h.fetch,
  });
  await expect(wallet.attestation()).rejects.toEqual(expect.objectContaining({ code: 'UNTRUSTED_ROOT' }));
});

test('a fingerprint that is not 32 bytes of hex is refused at once', () => {
  for (const sha256 of ['', 'abc', 'zz'.repeat(32), fingerprint(ours.root).slice(2)]) {
    expect(() => createClient({ baseUrl: 'http://wallet.test', root: { sha256 } })).toThrow(TypeError);
  }
});

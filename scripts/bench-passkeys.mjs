// Passkey signatures for `npm run bench` (docs/passkeys.md, docs/performance.md): exported, called by
// scripts/bench.mjs on a stack it started. A software authenticator (P-256, node:crypto, a counting signature
// counter, PRF = HMAC(secret, salt)) is added to each wallet with its PIN; then signatures with it: one client in
// sequence, and one client per wallet at once for `seconds`. Envelopes (assertion, PRF output, HPKE) are made
// before the clock runs, so the load generator's crypto does not take the cores the enclave is measured on. What
// it reports: latency, passkey signatures per second, the enclave's CPU per passkey signature (from /proc), and
// the Argon2id runs per passkey signature (from the enclave's stretch count: 0 expected).
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign as signWith } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CipherSuite, HkdfSha256 } from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';
import { http } from './http-client.mjs';

const { passkeyChallenge, passkeyPrfSalt, passkeyRegistrationDigest, toBase64Url } = await import('../proto/dist/passkey.js');
const { PIN_ENVELOPE_INFO } = await import('../proto/dist/labels.js');

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
const ORIGIN = 'http://localhost:8080';
const RP_ID = 'localhost';
const median = (xs) => quantile(xs, 0.5);
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
}
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}
/** The phase sums of /metrics (host_phase_seconds and enclave_phase_seconds), in ms, by "host.x" / "enclave.x". */
async function phaseSums(url) {
  const text = (await http(`${url}/metrics`)).body.toString();
  const sums = {};
  for (const m of text.matchAll(/^(host|enclave)_phase_seconds_sum\{phase="([a-z_]+)"\} ([0-9.e+-]+)$/gm)) sums[`${m[1]}.${m[2]}`] = Number(m[3]) * 1000;
  return sums;
}
async function stretchCount(url) {
  const text = (await http(`${url}/metrics`)).body.toString();
  return Number(/^enclave_phase_seconds_count\{phase="stretch"\} ([0-9.e+-]+)$/m.exec(text)?.[1] ?? NaN);
}

/** A software authenticator: one P-256 credential with a counting signature counter and a PRF secret. */
function authenticator() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const credentialId = randomBytes(32);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const secret = randomBytes(32);
  let counter = 0;
  const rpIdHash = createHash('sha256').update(RP_ID).digest();
  return {
    credentialId,
    registrationDigest: passkeyRegistrationDigest({ credentialId, algorithm: -7, publicKey: spki }),
    assert(binding, registration = false) {
      const data = Buffer.alloc(37);
      rpIdHash.copy(data);
      data[32] = 0x05; // user present, user verified
      data.writeUInt32BE(++counter, 33);
      const clientDataJSON = Buffer.from(
        JSON.stringify({ type: 'webauthn.get', challenge: toBase64Url(passkeyChallenge(binding)), origin: ORIGIN, crossOrigin: false }),
      );
      const signature = signWith('sha256', Buffer.concat([data, createHash('sha256').update(clientDataJSON).digest()]), {
        key: privateKey,
        dsaEncoding: 'der',
      });
      const passkey = {
        credentialId: toBase64Url(credentialId),
        authenticatorData: toBase64Url(data),
        clientDataJSON: toBase64Url(clientDataJSON),
        signature: toBase64Url(signature),
        ...(registration ? { algorithm: -7, publicKey: toBase64Url(spki) } : {}),
      };
      return { passkey, prf: toBase64Url(createHmac('sha256', secret).update(passkeyPrfSalt(binding.walletId)).digest()) };
    },
  };
}

async function seal(enclaveKey, body) {
  const recipientPublicKey = await suite.kem.deserializePublicKey(enclaveKey);
  const { ct, enc } = await suite.seal({ recipientPublicKey, info: PIN_ENVELOPE_INFO }, new TextEncoder().encode(JSON.stringify(body)));
  return Buffer.concat([Buffer.from(enc), Buffer.from(ct)]).toString('base64');
}
const binding = (b) => ({ v: 1, exp: Math.floor(Date.now() / 1000) + 240, nonce: randomBytes(16).toString('hex'), ...b });

/**
 * Passkey signatures on `wallets` (each `{ walletId, address }`, made with `pin`), against the host at `url`
 * whose enclave process is `enclavePid` and whose attested envelope key is `enclaveKey`.
 *
 * @returns {Promise<{ sign1: { p50: number, p99: number }, breakdown: Record<string, number>, sign32: { n: number, clients: number, perSecond: number, p50: number, p99: number, errors: Record<string, number> }, enclaveCpuMsPerSign: number, argon2PerSign: number, addP50: number, warmup: { seconds: number, n: number, enclaveCpuMsPerSign: number } }>}
 */
export async function benchPasskeys({
  url,
  enclavePid,
  enclaveKey,
  token,
  sub,
  wallets,
  pin = '493817',
  seconds = 8,
  warmupSeconds = 0,
  message = 'bench passkey',
}) {
  // A wallet may come with its own user (`token`, `sub`): one user's live envelopes are capped (1,000 by default).
  const tokenOf = (w) => w.token ?? token;
  const subOf = (w) => w.sub ?? sub;
  const api = async (method, path, body, w) => {
    const res = await http(url + path, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(w)}` },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: res.body.length ? JSON.parse(res.body.toString()) : {} };
  };
  // One passkey per wallet, added with the PIN (an Argon2id run each: reported apart).
  const addMs = [];
  const clients = [];
  for (const w of wallets) {
    const auth = authenticator();
    const b = binding({ purpose: 'add-passkey', sub: subOf(w), walletId: w.walletId, digest: auth.registrationDigest });
    const pinEnvelope = await seal(enclaveKey, { ...b, pin, ...auth.assert(b, true) });
    const t = performance.now();
    const out = await api('POST', `/v1/wallets/${w.walletId}/passkeys`, { pinEnvelope }, w);
    addMs.push(performance.now() - t);
    if (out.status !== 201) throw new Error(`add passkey: ${out.status} ${JSON.stringify(out.body)}`);
    clients.push({ w, auth });
  }
  const { digestOf } = await digests(message);
  const signBody = async ({ w, auth }) => {
    const b = binding({ purpose: 'sign', sub: subOf(w), walletId: w.walletId, network: 'evm', kind: 'evm-message', address: w.address, digest: digestOf });
    return { network: 'evm', kind: 'message', address: w.address, message, pinEnvelope: await seal(enclaveKey, { ...b, ...auth.assert(b) }) };
  };
  // Warm-up (`warmupSeconds`): the 32-client load, not measured, its envelopes sealed as it goes, so that V8 has
  // compiled the passkey path's functions before the windows below. Before the pools are sealed: each assertion
  // raises its authenticator's signature counter, and the enclave refuses one that goes back.
  const warm = { n: 0, cpu: cpuSeconds(enclavePid) };
  const warmEnd = performance.now() + warmupSeconds * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < warmEnd) {
        const body = await signBody(c);
        const res = await http(`${url}/v1/wallets/${c.w.walletId}/sign`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(c.w)}` },
          body: JSON.stringify(body),
        });
        if (res.status !== 200) throw new Error(`passkey sign (warm-up): ${res.status}`);
        warm.n++;
      }
    }),
  );
  warm.cpu = cpuSeconds(enclavePid) - warm.cpu;
  // Envelopes in the order their counters were made: each wallet's client sends them in that order.
  const pools = new Map();
  const perWallet = Math.ceil((seconds * 600) / clients.length) + 4;
  for (const c of clients) {
    const pool = [];
    for (let i = 0; i < perWallet; i++) pool.push(await signBody(c));
    pools.set(c.w.walletId, pool);
  }
  const sign = async (c) => {
    const body = pools.get(c.w.walletId).shift() ?? (await signBody(c));
    const t = performance.now();
    const res = await http(`${url}/v1/wallets/${c.w.walletId}/sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(c.w)}` },
      body: JSON.stringify(body),
    });
    return {
      ms: performance.now() - t,
      ok: res.status === 200,
      status: res.status,
      code: res.status === 200 ? '' : (JSON.parse(res.body.toString()).error?.code ?? ''),
    };
  };
  for (let i = 0; i < 5; i++) await sign(clients[0]);
  const phases0 = await phaseSums(url);
  const one = [];
  for (let i = 0; i < 30; i++) {
    const r = await sign(clients[0]);
    if (!r.ok) throw new Error(`passkey sign: ${r.status} ${r.code}`);
    one.push(r.ms);
  }
  const phases1 = await phaseSums(url);
  const breakdown = Object.fromEntries(
    Object.keys(phases1)
      .map((k) => [k, (phases1[k] - (phases0[k] ?? 0)) / one.length])
      .filter(([, v]) => v > 0),
  );
  const lat = [];
  const errors = {};
  const stretches0 = await stretchCount(url);
  const cpu0 = cpuSeconds(enclavePid);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        const r = await sign(c);
        if (r.ok) lat.push(r.ms);
        else errors[`${r.status} ${r.code}`] = (errors[`${r.status} ${r.code}`] ?? 0) + 1;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(enclavePid) - cpu0;
  const stretches = (await stretchCount(url)) - stretches0;
  return {
    addP50: median(addMs),
    sign1: { p50: median(one), p99: quantile(one, 0.99) },
    /** Mean ms per passkey signature by phase of /metrics (host and enclave), at one client. */
    breakdown,
    sign32: { n: lat.length, clients: clients.length, perSecond: lat.length / wall, p50: median(lat), p99: quantile(lat, 0.99), errors },
    enclaveCpuMsPerSign: (1000 * cpu) / Math.max(1, lat.length),
    warmup: { seconds: warmupSeconds, n: warm.n, enclaveCpuMsPerSign: warm.n ? (1000 * warm.cpu) / warm.n : NaN },
    argon2PerSign: stretches / Math.max(1, lat.length),
  };
}

/** The EIP-191 digest of a personal message (as the client SDK computes it), 0x hex. */
async function digests(message) {
  const { personalMessageDigest } = await import('../client/dist/index.js');
  return { digestOf: personalMessageDigest(message) };
}

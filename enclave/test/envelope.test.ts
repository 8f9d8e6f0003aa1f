/**
 * PIN envelopes: the enclave's HPKE against RFC 9180 A.2.1, envelopes sealed
 * by an independent HPKE implementation, and every binding check.
 */
import { createHash } from 'node:crypto';
import { jest } from '@jest/globals';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { hpkeOpen, hpkeSeal, wireOf } from '../../test/support/hpke-reference.js';
import { envelopeKeyFromRaw } from './support/envelope-key.js';
import { EnvelopeKey, PIN_ENVELOPE_INFO, RECOVERY_PHRASE_INFO, sealTo } from '../src/envelope/hpke.js';
import { CLOCK_SKEW_S, disposeEnvelope, isTrivialPin, parseEnvelope, ReplayCache, type Binding } from '../src/envelope/pin-envelope.js';
import { openPinEnvelope } from './support/pin-envelope.js';
import { Table } from '../src/envelope/replay.js';
import { parseUserId as uid, parseWalletId as wid } from '@enclave-wallet/proto/ids';

const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
/** A seeded xorshift32: `rand(k)` is in [0, k), the same sequence each run. */
const xorshift = (seed: number): ((k: number) => number) => {
  return (k) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % k;
  };
};
/** A nonce (16 bytes of lowercase hex) named by a label. */
const nonceOf = (label: string): string => createHash('sha256').update(label).digest('hex').slice(0, 32);
const NOW = 1_795_000_000;
const DIGEST = '0x' + 'ab'.repeat(32);
const ADDRESS = '0x9858EfFD232B4033E47d90003D41EC34EcaEda94';
const SOL = 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk';

test('RFC 9180 A.2.1: the enclave opens the published ciphertext', async () => {
  const key = envelopeKeyFromRaw(
    h('8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb'),
    h('4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a'),
  );
  const wire = h(
    '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a' +
      '1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28',
  );
  const pt = await key.open(wire, h('4f6465206f6e2061204772656369616e2055726e'), h('436f756e742d30'));
  expect(new TextDecoder().decode(pt)).toBe('Beauty is truth, truth beauty');
});

test('what the enclave seals to a client key opens with the independent implementation', async () => {
  const skClient = h('11'.repeat(32));
  const { x25519 } = await import('@noble/curves/ed25519.js');
  const wire = await sealTo(x25519.getPublicKey(skClient), RECOVERY_PHRASE_INFO, new TextEncoder().encode('{"mnemonic":"x"}'));
  expect(new TextDecoder().decode(hpkeOpen(skClient, wire, RECOVERY_PHRASE_INFO))).toBe('{"mnemonic":"x"}');
});

describe('against the maintained @hpke/* packages (a second, independent implementation)', () => {
  const oracle = async () => new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
  const ab = (b: Uint8Array): ArrayBuffer => Uint8Array.from(b).buffer;

  test('the enclave opens what @hpke seals, for many lengths, infos and AADs', async () => {
    const suite = await oracle();
    const key = await EnvelopeKey.generate();
    const recipient = await suite.kem.deserializePublicKey(ab(key.publicKey));
    for (const len of [0, 1, 31, 64, 200, 1000]) {
      const pt = Uint8Array.from({ length: len }, (_, i) => (i * 7 + len) & 0xff);
      const info = new TextEncoder().encode(`info-${len}`);
      const aad = len % 2 ? new TextEncoder().encode('aad') : new Uint8Array(0);
      const { enc, ct } = await suite.seal({ recipientPublicKey: recipient, info: ab(info) }, ab(pt), ab(aad));
      const wire = new Uint8Array([...new Uint8Array(enc), ...new Uint8Array(ct)]);
      expect(Buffer.from(await key.open(wire, info, aad))).toEqual(Buffer.from(pt));
      // One flipped bit anywhere, or another info, and it does not open.
      const bad = Uint8Array.from(wire);
      bad[(len * 13) % bad.length]! ^= 1;
      await expect(key.open(bad, info, aad)).rejects.toThrow();
      await expect(key.open(wire, new TextEncoder().encode('other'), aad)).rejects.toThrow();
    }
  });

  test('@hpke opens what the enclave seals', async () => {
    const suite = await oracle();
    const recipient = await suite.kem.generateKeyPair();
    const pkR = new Uint8Array(await suite.kem.serializePublicKey(recipient.publicKey));
    const pt = new TextEncoder().encode('{"mnemonic":"abandon"}');
    const wire = await sealTo(pkR, RECOVERY_PHRASE_INFO, pt);
    const opened = await suite.open({ recipientKey: recipient, enc: ab(wire.subarray(0, 32)), info: ab(RECOVERY_PHRASE_INFO) }, ab(wire.subarray(32)));
    expect(Buffer.from(opened)).toEqual(Buffer.from(pt));
  });

  test('an all-zero (low-order) encapsulated key is refused', async () => {
    const key = await EnvelopeKey.generate();
    await expect(key.open(new Uint8Array(32 + 16 + 4), PIN_ENVELOPE_INFO)).rejects.toThrow();
  });
});

describe('PIN envelopes', () => {
  let key: EnvelopeKey;
  beforeAll(async () => {
    key = await EnvelopeKey.generate();
  });
  const seal = (body: Record<string, unknown>, info = PIN_ENVELOPE_INFO): Uint8Array =>
    wireOf(hpkeSeal(key.publicKey, info, new TextEncoder().encode(JSON.stringify(body))));
  let n = 0;
  const body = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    v: 1,
    purpose: 'sign',
    sub: 'user-1',
    walletId: 'w-1',
    digest: DIGEST,
    network: 'evm',
    kind: 'evm-message',
    address: ADDRESS,
    pin: '493817',
    exp: NOW + 120,
    nonce: (++n).toString(16).padStart(32, '0'),
    ...over,
  });
  const binding: Binding = { purpose: 'sign', sub: uid('user-1'), walletId: wid('w-1'), digest: DIGEST, network: 'evm', address: ADDRESS, kind: 'evm-message' };
  const codeOf = async (wire: Uint8Array, b: Binding = binding, cache = new ReplayCache()): Promise<string> =>
    openPinEnvelope(key, wire, b, cache, NOW).then(
      () => 'OK',
      (e: unknown) => (e instanceof EnclaveWalletError ? e.code : `UNTYPED ${String(e)}`),
    );

  test('a well-formed envelope opens and yields its PIN', async () => {
    const env = await openPinEnvelope(key, seal(body()), binding, new ReplayCache(), NOW);
    expect(env).toMatchObject({ purpose: 'sign', sub: 'user-1' });
    expect(Buffer.from(env.pin).toString()).toBe('493817');
    // The PIN is a secret of its own: not serialisable, not printable, zeroed by dispose.
    expect(() => JSON.stringify(env)).toThrow(TypeError);
    expect(String(env.pin)).toBe('[secret 6 bytes]');
    disposeEnvelope(env);
    expect(env.pin.every((b) => b === 0)).toBe(true);
  });

  test('each binding is checked', async () => {
    expect(await codeOf(seal(body({ purpose: 'export' })))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(body({ sub: 'user-2' })))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(body({ walletId: 'w-2' })))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(body({ walletId: undefined })))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(body({ digest: '0x' + 'cd'.repeat(32) })))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(body({ digest: undefined })))).toBe('ENVELOPE_MISMATCH');
  });

  test('a Solana transaction’s envelope binds the cluster it is sent to; the host must name the same one', async () => {
    const sol: Binding = {
      purpose: 'sign',
      sub: uid('user-1'),
      walletId: wid('w-1'),
      digest: DIGEST,
      network: 'solana',
      address: SOL,
      kind: 'solana-transaction',
    };
    const solBody = (over: Record<string, unknown>) => body({ network: 'solana', address: SOL, kind: 'solana-transaction', ...over });
    expect(await codeOf(seal(solBody({ cluster: 'devnet' })), { ...sol, cluster: 'devnet' })).toBe('OK');
    expect(await codeOf(seal(solBody({ cluster: 'devnet' })), { ...sol, cluster: 'mainnet-beta' })).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(solBody({ cluster: 'devnet' })), sol)).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(solBody({})), { ...sol, cluster: 'mainnet-beta' })).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(solBody({})), sol)).toBe('OK');
    expect(await codeOf(seal(body({ cluster: 'devnet' })))).toBe('ENVELOPE_INVALID'); // an EVM message names no cluster
    expect(await codeOf(seal(solBody({ cluster: 'Dev Net' })), { ...sol, cluster: 'Dev Net' })).toBe('ENVELOPE_INVALID');
  });

  test('a mismatch echoes nothing of the envelope: a host replaying envelopes cannot read their bindings', async () => {
    for (const changed of [{ purpose: 'export' }, { sub: 'user-2' }, { walletId: 'w-2' }, { digest: '0x' + 'cd'.repeat(32) }] as const) {
      const err = await openPinEnvelope(key, seal(body(changed)), binding, new ReplayCache(), NOW).then(
        () => undefined,
        (e: EnclaveWalletError) => e,
      );
      expect(err?.code).toBe('ENVELOPE_MISMATCH');
      expect(err?.details).toEqual({});
      expect(err?.message).not.toContain(Object.values(changed)[0]);
    }
  });

  test('expiry: past, or more than five minutes ahead', async () => {
    expect(await codeOf(seal(body({ exp: NOW - 1 })))).toBe('ENVELOPE_EXPIRED');
    expect(await codeOf(seal(body({ exp: NOW + 301 + 30 })))).toBe('ENVELOPE_EXPIRED');
    expect(await codeOf(seal(body({ exp: NOW + 300 })))).toBe('OK');
  });

  test('a nonce is accepted once; a mismatched envelope does not burn it', async () => {
    const cache = new ReplayCache();
    const nonce = 'ff'.repeat(16);
    expect(await codeOf(seal(body({ nonce, walletId: 'w-9' })), binding, cache)).toBe('ENVELOPE_MISMATCH');
    const good = seal(body({ nonce }));
    expect(await codeOf(good, binding, cache)).toBe('OK');
    expect(await codeOf(good, binding, cache)).toBe('ENVELOPE_REPLAYED');
    expect(await codeOf(seal(body({ nonce })), binding, cache)).toBe('ENVELOPE_REPLAYED');
  });

  test('malformed envelopes are ENVELOPE_INVALID; bad PIN formats PIN_FORMAT_INVALID', async () => {
    expect(await codeOf(seal(body(), new TextEncoder().encode('other-info')))).toBe('ENVELOPE_INVALID');
    const tampered = seal(body());
    tampered[40]! ^= 1;
    expect(await codeOf(tampered)).toBe('ENVELOPE_INVALID');
    expect(await codeOf(new Uint8Array(10))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(wireOf(hpkeSeal(key.publicKey, PIN_ENVELOPE_INFO, new TextEncoder().encode('not json'))))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(seal(body({ v: 2 })))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(seal(body({ nonce: 'xyz' })))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(seal(body({ exp: 'soon' })))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(seal(body({ digest: 'ab'.repeat(32) })))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(seal(body({ newPin: '123987' })))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(seal(body({ pin: '12345' })))).toBe('PIN_FORMAT_INVALID');
    expect(await codeOf(seal(body({ pin: '1234567890123' })))).toBe('PIN_FORMAT_INVALID');
    expect(await codeOf(seal(body({ pin: '12a456' })))).toBe('PIN_FORMAT_INVALID');
  });

  test('change-pin needs newPin; import needs a mnemonic and nothing else does', async () => {
    const cp: Binding = { purpose: 'change-pin', sub: uid('user-1'), walletId: wid('w-1') };
    expect(await codeOf(seal(body({ purpose: 'change-pin', network: undefined, address: undefined, kind: undefined, digest: undefined })), cp)).toBe(
      'ENVELOPE_INVALID',
    );
    expect(
      await codeOf(seal(body({ purpose: 'change-pin', network: undefined, address: undefined, kind: undefined, digest: undefined, newPin: '770145' })), cp),
    ).toBe('OK');
    const imp: Binding = { purpose: 'import', sub: uid('user-1') };
    expect(
      await codeOf(seal(body({ purpose: 'import', network: undefined, address: undefined, kind: undefined, walletId: undefined, digest: undefined })), imp),
    ).toBe('ENVELOPE_INVALID');
    expect(
      await codeOf(
        seal(body({ purpose: 'import', network: undefined, address: undefined, kind: undefined, walletId: undefined, digest: undefined, mnemonic: 'a b c' })),
        imp,
      ),
    ).toBe('OK');
    expect(await codeOf(seal(body({ mnemonic: 'a b c' })))).toBe('ENVELOPE_INVALID');
  });

  test('a sign envelope binds the network and address of the signing account', async () => {
    expect(await codeOf(seal(body()))).toBe('OK');
    // EIP-55 is only a checksum: an all-lowercase address is the same account.
    expect(await codeOf(seal(body({ address: ADDRESS.toLowerCase() })))).toBe('OK');
    expect(await codeOf(seal(body({ address: '0x' + '77'.repeat(20) })))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(body({ network: 'solana' })))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(body({ network: undefined, address: undefined })))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(seal(body()), { ...binding, address: '0x' + '77'.repeat(20) })).toBe('ENVELOPE_MISMATCH');
    // Other purposes carry neither.
    expect(await codeOf(seal(body({ purpose: 'export' })), { ...binding, purpose: 'export' })).toBe('ENVELOPE_INVALID');
  });

  test('a sign envelope binds the kind of payload; a mismatch echoes none of the envelope back', async () => {
    expect(await codeOf(seal(body({ kind: undefined })))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(seal(body({ kind: 'bitcoin-message' })))).toBe('ENVELOPE_INVALID');
    expect(await codeOf(seal(body({ kind: 'evm-transaction' })))).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(seal(body()), { ...binding, kind: 'evm-typed-data' })).toBe('ENVELOPE_MISMATCH');
    const solana = { ...binding, network: 'solana', address: 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk' } as const;
    const sol = (kind: string) => seal(body({ network: 'solana', address: solana.address, kind }));
    expect(await codeOf(sol('solana-message'), { ...solana, kind: 'solana-message' })).toBe('OK');
    expect(await codeOf(sol('solana-message'), { ...solana, kind: 'solana-transaction' })).toBe('ENVELOPE_MISMATCH');
    expect(await codeOf(sol('solana-transaction'), { ...solana, kind: 'solana-message' })).toBe('ENVELOPE_MISMATCH');
    const err = (await openPinEnvelope(key, sol('solana-message'), { ...solana, kind: 'solana-transaction' }, new ReplayCache(), NOW).catch(
      (e: unknown) => e,
    )) as {
      details: object;
      message: string;
    };
    expect(err.details).toEqual({});
    expect(err.message).not.toMatch(/solana-(message|transaction)/);
    // Other purposes carry no kind.
    expect(await codeOf(seal(body({ purpose: 'export', network: undefined, address: undefined })), { ...binding, purpose: 'export' })).toBe('ENVELOPE_INVALID');
  });

  test('one user cannot fill the replay cache for everyone', () => {
    const cache = new ReplayCache(100, 3);
    for (const x of ['a', 'b', 'c']) expect(cache.claim(nonceOf(x), NOW + 100, NOW, 'mallory')).toBe(true);
    expect(() => cache.claim(nonceOf('d'), NOW + 100, NOW, 'mallory')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    expect(cache.claim(nonceOf('e'), NOW + 100, NOW, 'alice')).toBe(true);
    // Once mallory's entries expire, mallory may go on.
    expect(cache.claim(nonceOf('f'), NOW + 500, NOW + 200, 'mallory')).toBe(true);
  });

  test('a wall clock set back does not bring a dropped nonce back: the replay cache’s clock never goes back', async () => {
    const cache = new ReplayCache();
    const wire = seal(body({ nonce: 'ee'.repeat(16), exp: NOW + 10 }));
    expect(await codeOf(wire, binding, cache)).toBe('OK');
    // 100 s later another envelope's claim sweeps the first nonce (its exp + 30 s have passed) ...
    expect(cache.claim(nonceOf('other'), NOW + 200, NOW + 100, 'someone')).toBe(true);
    expect(cache.size).toBe(1);
    // ... and with the clock set back to NOW the first envelope is expired, not new again.
    expect(await codeOf(wire, binding, cache)).toBe('ENVELOPE_EXPIRED');
    expect(cache.monotonic(NOW)).toBe(NOW + 100);
    expect(cache.monotonic(NOW + 101)).toBe(NOW + 101);
  });

  test('users sharing an expiry second each get their count back when it passes', () => {
    const cache = new ReplayCache(100, 2);
    expect(cache.claim(nonceOf('a1'), NOW + 10, NOW, 'alice')).toBe(true);
    expect(cache.claim(nonceOf('m1'), NOW + 10, NOW, 'mallory')).toBe(true);
    expect(cache.claim(nonceOf('m2'), NOW + 10, NOW, 'mallory')).toBe(true);
    expect(cache.claim(nonceOf('a2'), NOW + 20, NOW, 'alice')).toBe(true);
    expect([cache.heldBy('alice'), cache.heldBy('mallory'), cache.size]).toEqual([2, 2, 4]);
    expect(() => cache.claim(nonceOf('m3'), NOW + 20, NOW, 'mallory')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    // NOW + 10's second passes (with the skew): a1, m1 and m2 go, a2 stays.
    expect(cache.claim(nonceOf('m3'), NOW + 60, NOW + 11 + CLOCK_SKEW_S, 'mallory')).toBe(true);
    expect([cache.heldBy('alice'), cache.heldBy('mallory'), cache.size]).toEqual([1, 1, 2]);
    expect(cache.claim(nonceOf('a1'), NOW + 60, NOW + 11 + CLOCK_SKEW_S, 'alice')).toBe(true); // forgotten only after its time
    expect(cache.claim(nonceOf('a2'), NOW + 60, NOW + 11 + CLOCK_SKEW_S, 'alice')).toBe(false);
  });

  test('ENCLAVE_ENVELOPES_PER_USER sets the per-user cap: 1 to the whole cache, 1,000 when unset or empty; anything else refused', async () => {
    const { loadStartupConfig } = await import('../src/config.js');
    expect(loadStartupConfig({}).envelopesPerUser).toBe(1_000);
    expect(loadStartupConfig({ ENCLAVE_ENVELOPES_PER_USER: '' }).envelopesPerUser).toBe(1_000); // set empty: the default
    expect(loadStartupConfig({ ENCLAVE_ENVELOPES_PER_USER: '1' }).envelopesPerUser).toBe(1);
    expect(loadStartupConfig({ ENCLAVE_ENVELOPES_PER_USER: '100000' }).envelopesPerUser).toBe(100_000);
    for (const bad of ['0', '100001', '1e3', ' 5', '-1', '5.0', '010'])
      expect(() => loadStartupConfig({ ENCLAVE_ENVELOPES_PER_USER: bad })).toThrow(/ENCLAVE_ENVELOPES_PER_USER must be a whole number from 1 to 100000/);
  });

  test('the replay cache is bounded and refuses rather than forgets', () => {
    const cache = new ReplayCache(2);
    expect(cache.claim(nonceOf('a'), NOW + 100, NOW)).toBe(true);
    expect(cache.claim(nonceOf('b'), NOW + 100, NOW)).toBe(true);
    expect(() => cache.claim(nonceOf('c'), NOW + 100, NOW)).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    // Once the old ones expire, room is made.
    expect(cache.claim(nonceOf('c'), NOW + 1000, NOW + 500)).toBe(true);
    expect(cache.claim(nonceOf('a'), NOW + 1000, NOW + 500)).toBe(true);
  });

  test('a nonce is held until its expiry and the clock skew have passed, and not after', () => {
    const cache = new ReplayCache();
    expect(cache.claim(nonceOf('n'), NOW + 10, NOW, 'u')).toBe(true);
    expect(cache.claim(nonceOf('n'), NOW + 10, NOW + 10 + CLOCK_SKEW_S, 'u')).toBe(false);
    expect(cache.size).toBe(1);
    expect(cache.claim(nonceOf('m'), NOW + 100, NOW + 11 + CLOCK_SKEW_S, 'u')).toBe(true);
    expect(cache.size).toBe(1); // n is gone with no limit reached
  });

  test('under a steady stream the cache holds what is live, not everything since the start', () => {
    const cache = new ReplayCache();
    let most = 0;
    // An hour at 10 envelopes a second, each living 120 s (the SDK's lifetime): 36,000 claims.
    for (let t = 0; t < 3600; t++) {
      for (let i = 0; i < 10; i++) expect(cache.claim(nonceOf(`${t}-${i}`), NOW + t + 120, NOW + t, `user-${i}`)).toBe(true);
      most = Math.max(most, cache.size);
    }
    expect(most).toBeLessThanOrEqual(10 * (120 + CLOCK_SKEW_S + 1));
  });

  test('a nonce is global: another user cannot claim one already seen; nonces and expiries of another form are refused', () => {
    const cache = new ReplayCache();
    expect(cache.claim(nonceOf('x'), NOW + 10, NOW, 'alice')).toBe(true);
    expect(cache.claim(nonceOf('x'), NOW + 10, NOW, 'bob')).toBe(false);
    for (const bad of ['', 'AB'.repeat(16), 'ab'.repeat(15), 'ab'.repeat(17), 'g'.repeat(32)])
      expect(() => cache.claim(bad, NOW + 10, NOW, 'alice')).toThrow(expect.objectContaining({ code: 'ENVELOPE_INVALID' }));
    for (const bad of [0, -1, 1.5, 2 ** 32, Number.NaN])
      expect(() => cache.claim(nonceOf('y'), bad, NOW, 'alice')).toThrow(expect.objectContaining({ code: 'ENVELOPE_INVALID' }));
    expect([cache.size, cache.heldBy('alice'), cache.heldBy('bob')]).toEqual([1, 1, 0]);
  });

  test('users are told apart by every UTF-16 code unit of their ids; an id longer than any user id is refused', () => {
    const cache = new ReplayCache(100, 1);
    // Lone surrogates, and U+FFFD: one and the same in UTF-8, three users here.
    for (const [i, sub] of ['a\uD800', 'a\uDC00', 'a\uFFFD'].entries()) expect(cache.claim(nonceOf(`s${i}`), NOW + 10, NOW, sub)).toBe(true);
    expect([cache.heldBy('a\uD800'), cache.heldBy('a\uDC00'), cache.heldBy('a\uFFFD'), cache.size]).toEqual([1, 1, 1, 3]);
    const longest = '\u4e00'.repeat(256); // 768 bytes of UTF-8, 512 of UTF-16
    expect(cache.claim(nonceOf('cjk'), NOW + 10, NOW, longest)).toBe(true);
    expect(cache.claim(nonceOf('cjk2'), NOW + 10, NOW, longest.slice(1) + 'x')).toBe(true); // not the same user
    expect(() => cache.claim(nonceOf('long'), NOW + 10, NOW, 'u'.repeat(257))).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(cache.size).toBe(5);
  });

  test('a claim that cannot make room changes nothing: no count is left without its nonce', () => {
    const cache = new ReplayCache(100_000, 100_000);
    const resize = Table.prototype.resize;
    let fail = false;
    const spy = jest.spyOn(Table.prototype, 'resize').mockImplementation(function (this: Table, slots: number) {
      if (fail) throw new RangeError('Array buffer allocation failed');
      resize.call(this, slots);
    });
    try {
      // Up to the nonces' table's last claim before it doubles (768 of 1,024 slots), under one user.
      for (let i = 0; i < 768; i++) expect(cache.claim(nonceOf(`r${i}`), NOW + 10, NOW, 'alice')).toBe(true);
      fail = true;
      expect(() => cache.claim(nonceOf('next'), NOW + 10, NOW, 'bob')).toThrow(RangeError);
      expect([cache.size, cache.heldBy('alice'), cache.heldBy('bob')]).toEqual([768, 768, 0]);
      fail = false;
      expect(cache.claim(nonceOf('next'), NOW + 10, NOW, 'bob')).toBe(true);
      expect([cache.size, cache.heldBy('bob')]).toEqual([769, 1]);
    } finally {
      spy.mockRestore();
    }
  });

  test('the replay cache answers as a plain map of nonces would, through growth, expiry, shrinking and both limits', () => {
    // A reference model (a Map, no limits on its memory) and the cache, fed the same random claims over simulated time.
    const rand = xorshift(0x2545f491);
    const MAX = 5_000;
    const PER_USER = 900;
    const cache = new ReplayCache(MAX, PER_USER);
    const model = new Map<string, { exp: number; sub: string }>();
    const users = Array.from({ length: 2000 }, (_, i) => `user-${i}-` + 'x'.repeat(i % 200)); // ids of many lengths
    const heldBy = new Map<string, number>();
    const recent: string[] = []; // nonces claimed lately, live or not, to send again
    let now = NOW;
    let [claimed, replayed, full, userFull, slotsMost] = [0, 0, 0, 0, 0];
    for (let step = 0; step < 30_000; step++) {
      if (rand(40) === 0) {
        now += rand(60) === 0 ? 1 + rand(400) : 1; // a second at a time, now and then a jump that lets everything expire
        for (const [k, v] of model)
          if (v.exp < now - CLOCK_SKEW_S) {
            model.delete(k);
            heldBy.set(v.sub, heldBy.get(v.sub)! - 1);
          }
      }
      // Mostly fresh nonces, a fifth of them replays of a live one; one user sends about a quarter of them.
      const nonce = recent.length && rand(5) === 0 ? recent[rand(recent.length)]! : nonceOf(`${step}`);
      const sub = rand(4) === 0 ? users[0]! : users[rand(users.length)]!;
      const exp = now + 1 + rand(300);
      let expected: boolean | 'full' | 'user' = !model.has(nonce);
      if (expected && model.size >= MAX) expected = 'full';
      else if (expected && (heldBy.get(sub) ?? 0) >= PER_USER) expected = 'user';
      let got: boolean | 'full' | 'user';
      try {
        got = cache.claim(nonce, exp, now, sub);
      } catch (err) {
        expect((err as EnclaveWalletError).code).toBe('RATE_LIMITED');
        got = /for this user/.test((err as Error).message) ? 'user' : 'full';
      }
      expect(got).toBe(expected);
      if (got === true) {
        model.set(nonce, { exp, sub });
        recent[claimed % 3000] = nonce;
        heldBy.set(sub, (heldBy.get(sub) ?? 0) + 1);
      }
      [claimed, replayed, full, userFull] = [claimed + +(got === true), replayed + +(got === false), full + +(got === 'full'), userFull + +(got === 'user')];
      expect(cache.size).toBe(model.size);
      slotsMost = Math.max(slotsMost, cache.footprint.nonceSlots);
      if (step % 97 === 0) for (const u of [users[0]!, users[rand(users.length)]!]) expect(cache.heldBy(u)).toBe(heldBy.get(u) ?? 0);
    }
    // Every branch was taken, and the table grew past its first size and came back down.
    expect(Math.min(claimed, replayed, full, userFull)).toBeGreaterThan(100);
    expect(slotsMost).toBeGreaterThanOrEqual(8192);
    now += 400;
    expect(cache.claim(nonceOf('last'), now + 10, now, 'someone')).toBe(true);
    expect([cache.size, cache.footprint.nonceSlots, cache.footprint.userSlots]).toEqual([1, 1024, 1024]);
  });

  test('the table under the cache finds every key it holds and no other, at its highest load, across its end', () => {
    const rand = xorshift(0x9e3779b9);
    const SLOTS = 64;
    const table = new Table(2, 1, SLOTS);
    const model = new Map<string, { hash: number; value: number }>();
    const key = new Uint32Array(2);
    const value = new Uint32Array(1);
    let wrapped = 0;
    for (let step = 0; step < 15_000; step++) {
      key[0] = rand(100);
      key[1] = rand(3);
      const id = `${key[0]}/${key[1]}`;
      // Homes crowd the table's last slots, so clusters run across its end; a few land anywhere.
      const hash = rand(8) === 0 ? rand(2 ** 32) : SLOTS - 1 - rand(6) + SLOTS * rand(1000);
      const known = model.get(id);
      const at = table.find(key, 0, known?.hash ?? hash);
      expect(at >= 0).toBe(known !== undefined);
      if (known) {
        expect(table.value(at, 0)).toBe(known.value);
        if (rand(2) === 0) {
          wrapped += +(at < (known.hash & (SLOTS - 1)));
          table.removeAt(at);
          model.delete(id);
        }
      } else if (model.size < SLOTS * 0.8) {
        value[0] = 1 + rand(1000);
        table.insert(key, 0, hash, value, 0);
        model.set(id, { hash, value: value[0] });
      }
      expect(table.used).toBe(model.size);
    }
    // Every key still there is found where probing from its home reaches it.
    for (const [id, { hash, value: v }] of model) {
      const [a, b] = id.split('/').map(Number);
      key[0] = a!;
      key[1] = b!;
      expect(table.value(table.find(key, 0, hash), 0)).toBe(v);
    }
    expect(wrapped).toBeGreaterThan(30); // entries removed from past the table's end
  });

  test('a full cache of 100,000 nonces takes a few MiB of buffers and almost no heap, however long the users’ ids', async () => {
    setFlagsFromString('--expose-gc');
    const vmGc = runInNewContext('gc') as () => void;
    // Twice, with a turn of the event loop between: dead buffers' memory is given back by a sweep after the collection.
    const gc = async (): Promise<void> => {
      vmGc();
      await new Promise((resolve) => setTimeout(resolve, 20));
      vmGc();
    };
    for (const [users, idLength] of [
      [1, 8],
      [100_000, 256],
    ] as const) {
      const ids = Array.from({ length: Math.min(users, 1000) }, (_, i) => `${i}:`.padEnd(idLength, 'u'));
      const idOf = (i: number): string => (users === 1 ? ids[0]! : i < 1000 ? ids[i]! : `${i}:`.padEnd(idLength, 'u'));
      await gc();
      const before = process.memoryUsage();
      const cache = new ReplayCache(100_000, 100_000);
      let claimed = 0;
      for (let i = 0; i < 100_000; i++) claimed += +cache.claim(nonceOf(`full-${i}`), NOW + 300, NOW, idOf(i));
      expect(claimed).toBe(100_000);
      expect(() => cache.claim(nonceOf('one more'), NOW + 300, NOW, 'someone')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
      await gc();
      const after = process.memoryUsage();
      const { bytes } = cache.footprint;
      // 131,072 slots of 36 bytes for the nonces; the users' table: 16 bytes a slot.
      expect(bytes).toBeLessThanOrEqual(4.5 * 2 ** 20 + (users === 1 ? 16 * 1024 : 2 * 2 ** 20));
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThanOrEqual(bytes + 2 ** 20);
      expect(after.heapUsed - before.heapUsed).toBeLessThan(2 * 2 ** 20); // no object, no id kept per entry
      expect(cache.heldBy(idOf(users === 1 ? 0 : 99_999))).toBe(users === 1 ? 100_000 : 1);
    }
  });
});

test.each([
  ['111111', true],
  ['123456', true],
  ['654321', true],
  ['890123', true],
  ['3210987', true],
  ['493817', false],
  ['112233', false],
  ['135790', false],
])('trivial PIN %s → %s', (pin, trivial) => {
  expect(isTrivialPin(pin)).toBe(trivial);
});

test('an envelope inside a larger buffer (as protobuf decoding hands it over) opens', async () => {
  const key = await EnvelopeKey.generate();
  const body = { v: 1, purpose: 'create-wallet', sub: 'u', pin: '493817', exp: NOW + 60, nonce: 'ab'.repeat(16) };
  const wire = wireOf(hpkeSeal(key.publicKey, PIN_ENVELOPE_INFO, new TextEncoder().encode(JSON.stringify(body))));
  const pool = Buffer.alloc(wire.length + 100, 7);
  pool.set(wire, 50);
  const view = pool.subarray(50, 50 + wire.length);
  const env = await openPinEnvelope(key, view, { purpose: 'create-wallet', sub: uid('u') }, new ReplayCache(), NOW);
  expect(Buffer.from(env.pin).toString()).toBe('493817');
});

describe('the PINs never become strings', () => {
  const plain = (json: string): Uint8Array => new TextEncoder().encode(json);
  const base = `"v":1,"purpose":"change-pin","sub":"u","walletId":"w","exp":${NOW + 60},"nonce":"${'ab'.repeat(16)}"`;

  test('they are taken out of the plaintext before it is decoded: the bytes left hold zeros where they were', () => {
    const bytes = plain(`{${base},"pin":"493817","newPin":"770145"}`);
    const env = parseEnvelope(bytes);
    expect([Buffer.from(env.pin).toString(), Buffer.from(env.newPin!).toString()]).toEqual(['493817', '770145']);
    const left = Buffer.from(bytes).toString();
    expect(left).toContain('"pin":"000000"');
    expect(left).not.toContain('493817');
    expect(left).not.toContain('770145');
  });

  test('an escaped, numeric, repeated or misplaced PIN is PIN_FORMAT_INVALID; "pin" inside another value is not a key', () => {
    const code = (json: string): string => {
      try {
        parseEnvelope(plain(json));
        return 'OK';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code(`{${base},"pin":"\\u0034\\u0039\\u0033817","newPin":"770145"}`)).toBe('PIN_FORMAT_INVALID');
    expect(code(`{${base},"pin":493817,"newPin":"770145"}`)).toBe('PIN_FORMAT_INVALID');
    expect(code(`{${base},"pin":"493817","pin":"111999","newPin":"770145"}`)).toBe('PIN_FORMAT_INVALID');
    expect(code(`{${base},"pin":"49381","newPin":"770145"}`)).toBe('PIN_FORMAT_INVALID');
    const tricky = parseEnvelope(plain(`{${base.replace('"sub":"u"', '"sub":"\\"pin\\":\\"999999"')},"pin" : "493817","newPin":"770145"}`));
    expect(Buffer.from(tricky.pin).toString()).toBe('493817');
    expect(tricky.sub).toBe('"pin":"999999');
  });
});

describe('an import’s recovery phrase never becomes a string', () => {
  const plain = (json: string): Uint8Array => new TextEncoder().encode(json);
  const base = `"v":1,"purpose":"import","sub":"u","exp":${NOW + 60},"nonce":"${'ab'.repeat(16)}","pin":"493817"`;
  const PHRASE = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
  const phraseOf = (json: string): string => {
    const env = parseEnvelope(plain(json));
    try {
      return Buffer.from(env.mnemonic!).toString();
    } finally {
      disposeEnvelope(env);
    }
  };

  test('taken out of the plaintext before it is decoded, normalised as typed-in phrases are (case, spaces, \\t \\n \\r \\f)', () => {
    const bytes = plain(`{${base},"mnemonic":"${PHRASE}"}`);
    const env = parseEnvelope(bytes);
    expect(Buffer.from(env.mnemonic!).toString()).toBe(PHRASE);
    const left = Buffer.from(bytes).toString();
    expect(left).not.toContain('legal');
    expect(left).toContain(`"mnemonic":"${'a'.repeat(PHRASE.length)}"`);
    const typed = '  Legal\\tWINNER  thank\\nyear\\r\\fwave sausage worth useful legal winner thank yellow\\n';
    expect(phraseOf(`{${base},"mnemonic":"${typed}"}`)).toBe(PHRASE);
  });

  test('a phrase with other characters is decoded and NFKD-normalised, as before; twice is ENVELOPE_INVALID; inside another value it is not a key', () => {
    // Full-width letters: NFKD makes them ASCII. \u escapes: decoded by JSON.
    const fullWidth = PHRASE.replace('legal', '\uff4c\uff45\uff47\uff41\uff4c');
    expect(phraseOf(`{${base},"mnemonic":"${fullWidth}"}`)).toBe(PHRASE);
    expect(phraseOf(`{${base},"mnemonic":"${PHRASE.replace('wave', '\\u0077ave')}"}`)).toBe(PHRASE);
    expect(() => parseEnvelope(plain(`{${base},"mnemonic":"${PHRASE}","mnemonic":"${PHRASE}"}`))).toThrow('mnemonic given twice');
    // Twice with the first not taken out (JSON keeps the last, the scan took the first it could): refused too.
    expect(() => parseEnvelope(plain(`{${base},"mnemonic":"\\u00e9","mnemonic":"${PHRASE}"}`))).toThrow('mnemonic given twice');
    // A key written with an escape is one key to JSON and another to the scan: refused, for any key.
    expect(() => parseEnvelope(plain(`{${base},"mnemonic":"${PHRASE}","mn\\u0065monic":"zoo"}`))).toThrow('a key is written with an escape');
    expect(() => parseEnvelope(plain(`{${base.replace('"pin"', '"p\\u0069n"')},"mnemonic":"${PHRASE}"}`))).toThrow('a key is written with an escape');
    const tricky = parseEnvelope(plain(`{${base.replace('"sub":"u"', '"sub":"\\"mnemonic\\":\\"abc"')},"mnemonic":"${PHRASE}"}`));
    expect(tricky.sub).toBe('"mnemonic":"abc');
    expect(Buffer.from(tricky.mnemonic!).toString()).toBe(PHRASE);
  });
});

describe('passkey envelopes (docs/passkeys.md)', () => {
  const plain = (json: string): Uint8Array => new TextEncoder().encode(json);
  const prf = Buffer.alloc(32, 7).toString('base64url');
  const assertion = { credentialId: 'AQID', authenticatorData: 'AAAA', clientDataJSON: 'e30', signature: 'MEQ' };
  const base = (purpose: string) => `"v":1,"purpose":"${purpose}","sub":"u","walletId":"w","exp":${NOW + 60},"nonce":"${'ab'.repeat(16)}"`;
  const code = (json: string): string => {
    try {
      const env = parseEnvelope(plain(json));
      disposeEnvelope(env);
      return 'OK';
    } catch (e) {
      return (e as { code: string }).code;
    }
  };

  test('the PRF output is taken out of the plaintext before it is decoded, and decoded to its 32 bytes', () => {
    const bytes = plain(`{${base('export')},"passkey":${JSON.stringify(assertion)},"prf":"${prf}"}`);
    const env = parseEnvelope(bytes);
    expect(Buffer.from(env.prf!).equals(Buffer.alloc(32, 7))).toBe(true);
    expect(Buffer.from(env.passkey!.credentialId)).toEqual(Buffer.from([1, 2, 3]));
    expect(env.pin.length).toBe(0);
    expect(Buffer.from(bytes).toString()).not.toContain(prf);
    const prfBytes = env.prf!;
    disposeEnvelope(env);
    expect(prfBytes.every((b) => b === 0)).toBe(true);
  });

  test('a passkey stands for the PIN (never both), needs its PRF output, and adds only with the PIN or the code', () => {
    const pk = `"passkey":${JSON.stringify(assertion)}`;
    const reg = `"passkey":${JSON.stringify({ ...assertion, algorithm: -7, publicKey: 'AAAA' })}`;
    expect(code(`{${base('sign')},${pk},"prf":"${prf}"}`)).toBe('OK');
    expect(code(`{${base('sign')},${pk}}`)).toBe('PASSKEY_PRF_UNSUPPORTED');
    expect(code(`{${base('sign')},${pk},"prf":"${prf}","pin":"493817"}`)).toBe('ENVELOPE_INVALID');
    expect(code(`{${base('sign')},"pin":"493817","prf":"${prf}"}`)).toBe('ENVELOPE_INVALID');
    expect(code(`{${base('sign')},${pk},"prf":"${prf.slice(1)}"}`)).toBe('ENVELOPE_INVALID');
    expect(code(`{${base('sign')},${pk},"prf":"${prf}","prf":"${prf}"}`)).toBe('ENVELOPE_INVALID');
    expect(code(`{${base('sign')},${reg},"prf":"${prf}"}`)).toBe('ENVELOPE_INVALID'); // a key goes with add-passkey only
    expect(code(`{${base('create-wallet')},${pk},"prf":"${prf}","pin":"493817"}`)).toBe('ENVELOPE_INVALID');
    expect(code(`{${base('reset-pin')},${pk},"prf":"${prf}","newPin":"770145"}`)).toBe('OK');
    expect(code(`{${base('reset-pin')},${pk},"prf":"${prf}","newPin":"770145","recoveryCode":"AAAA-BBBB"}`)).toBe('ENVELOPE_INVALID');
    expect(code(`{${base('add-passkey')},${reg},"prf":"${prf}","pin":"493817"}`)).toBe('OK');
    expect(code(`{${base('add-passkey')},${reg},"prf":"${prf}","recoveryCode":"AAAA-BBBB"}`)).toBe('OK');
    expect(code(`{${base('add-passkey')},${reg},"prf":"${prf}"}`)).toBe('PIN_FORMAT_INVALID');
    expect(code(`{${base('add-passkey')},${pk},"prf":"${prf}","pin":"493817"}`)).toBe('ENVELOPE_INVALID'); // no key
    expect(code(`{${base('add-passkey')},"pin":"493817"}`)).toBe('ENVELOPE_INVALID');
    expect(code(`{${base('remove-passkey')},${pk},"prf":"${prf}"}`)).toBe('OK');
    expect(code(`{${base('sign')},"passkey":${JSON.stringify({ ...assertion, credentialId: 'A'.repeat(400) })},"prf":"${prf}"}`)).toBe('ENVELOPE_INVALID');
  });
});

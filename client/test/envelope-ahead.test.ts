/**
 * The SDK makes the next envelope's HPKE context ahead of it (envelope.ts): after a seal, a fresh ephemeral key is
 * agreed with the enclave's key a moment later, and the next seal to that key takes it. Each context seals once,
 * one made for another key or kept past its age is zeroed and not used, and the enclave's own HPKE opens every
 * envelope.
 */
import { jest } from '@jest/globals';
import type { SenderContext } from '../src/hpke.js';
import type { EnvelopeBody } from '../src/envelope.js';

/** Every context the SDK makes, seen through a wrapper of hpkeSenderAsync (the real one makes each). */
const made: Array<{ context: SenderContext; pkR: string }> = [];
const hpke = await import('../src/hpke.js');
jest.unstable_mockModule('../src/hpke.js', () => ({
  ...hpke,
  hpkeSenderAsync: async (...args: Parameters<typeof hpke.hpkeSenderAsync>) => {
    const context = await hpke.hpkeSenderAsync(...args);
    made.push({ context, pkR: Buffer.from(args[0]).toString('hex') });
    return context;
  },
}));
const { EnvelopeKey, PIN_ENVELOPE_INFO } = await import('../../enclave/src/envelope/hpke.js');
const { CONTEXT_AHEAD_DELAY_MS, CONTEXT_AHEAD_MAX_AGE_MS, dropContextAhead, sealPinEnvelopeAsync } = await import('../src/envelope.js');
const { createClient } = await import('../src/index.js');
const { discardContext, hpkeSenderAsync, sealOnce, wireOf } = hpke;

const zeroed = (c: SenderContext): boolean => c.used && c.key.every((x) => x === 0) && c.nonce.every((x) => x === 0);
/** The contexts made and neither used nor dropped, by the hex of the key they were made for. */
const waiting = (): string[] => made.filter((m) => !m.context.used).map((m) => m.pkR);
const hex = (key: Uint8Array): string => Buffer.from(key).toString('hex');

const body = (pin: string): EnvelopeBody => ({ purpose: 'sign', sub: 'user-1', walletId: 'w-1', digest: '0x' + '11'.repeat(32), pin });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const te = new TextEncoder();

/** Opens a wire envelope with the enclave's HPKE; returns its JSON and its enc (the ephemeral public key). */
async function open(recipient: Awaited<ReturnType<typeof EnvelopeKey.generate>>, wire: string): Promise<{ json: Record<string, unknown>; enc: string }> {
  const bytes = Uint8Array.from(Buffer.from(wire, 'base64'));
  using opened = await recipient.open(bytes, PIN_ENVELOPE_INFO);
  return {
    json: JSON.parse(Buffer.from(opened.buffer, opened.byteOffset, opened.length).toString()) as Record<string, unknown>,
    enc: Buffer.from(bytes.subarray(0, 32)).toString('hex'),
  };
}

let derive: ReturnType<typeof jest.spyOn>;
beforeEach(() => {
  dropContextAhead();
  made.length = 0;
  derive = jest.spyOn(globalThis.crypto.subtle, 'deriveBits');
});
afterEach(() => {
  derive.mockRestore();
  jest.useRealTimers();
  dropContextAhead();
});

/**
 * Waits (turns of the event loop, which fake timers leave alone) until the context made ahead has its agreement: the
 * agreement counted after `before`, and settled. Without it, an agreement still running when a seal starts would be
 * counted as the seal's.
 */
async function aheadMade(before: number): Promise<void> {
  for (let i = 0; i < 10_000 && derive.mock.calls.length <= before; i++) await new Promise((r) => setImmediate(r));
  expect(derive.mock.calls.length).toBe(before + 1);
  await derive.mock.results.at(-1)!.value;
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Seals one envelope to `recipient` and lets the next context be made ahead (its delay passed on the real clock, or
 * on jest's fake one); returns that context.
 */
async function sealThenAhead(recipient: { publicKey: Uint8Array }, pin: string, clock: 'real' | 'fake' = 'real'): Promise<SenderContext> {
  await sealPinEnvelopeAsync(recipient.publicKey, body(pin));
  const before = derive.mock.calls.length;
  if (clock === 'fake') jest.advanceTimersByTime(CONTEXT_AHEAD_DELAY_MS);
  else await sleep(CONTEXT_AHEAD_DELAY_MS);
  await aheadMade(before);
  return made.find((m) => !m.context.used)!.context;
}

/** How many X25519 agreements `f` made while it ran. */
async function agreementsDuring<T>(f: () => Promise<T>): Promise<{ value: T; agreements: number }> {
  const before = derive.mock.calls.length;
  const value = await f();
  return { value, agreements: derive.mock.calls.length - before };
}

test('a seal takes the context made after the one before it: no agreement on its path, a fresh ephemeral key, opened by the enclave', async () => {
  const recipient = await EnvelopeKey.generate();
  const first = await agreementsDuring(() => sealPinEnvelopeAsync(recipient.publicKey, body('111111')));
  expect(first.agreements).toBeGreaterThanOrEqual(1); // nothing made ahead yet (the first seal also asks whether WebCrypto agrees)
  const encs = new Set([(await open(recipient, first.value)).enc]);
  for (let i = 0; i < 5; i++) {
    const before = derive.mock.calls.length;
    await sleep(CONTEXT_AHEAD_DELAY_MS);
    await aheadMade(before);
    const next = await agreementsDuring(() => sealPinEnvelopeAsync(recipient.publicKey, body(`22222${i}`)));
    expect(next.agreements).toBe(0);
    const opened = await open(recipient, next.value);
    expect(opened.json).toMatchObject({ v: 1, pin: `22222${i}`, walletId: 'w-1' });
    encs.add(opened.enc);
  }
  expect(encs.size).toBe(6);
});

test('seals at once never share a context: each has its own ephemeral key, and the enclave opens each', async () => {
  const recipient = await EnvelopeKey.generate();
  await sealThenAhead(recipient, '000000');
  const wires = await Promise.all(Array.from({ length: 32 }, (_, i) => sealPinEnvelopeAsync(recipient.publicKey, body(String(100000 + i)))));
  const opened = await Promise.all(wires.map((w) => open(recipient, w)));
  expect(new Set(opened.map((o) => o.enc)).size).toBe(32);
  expect(opened.map((o) => o.json.pin)).toEqual(Array.from({ length: 32 }, (_, i) => String(100000 + i)));
});

test('a context made ahead for another enclave key is not used: the seal to the new key agrees afresh, and the new key opens it', async () => {
  const [a, b] = [await EnvelopeKey.generate(), await EnvelopeKey.generate()];
  await sealThenAhead(a, '333333');
  const toB = await agreementsDuring(() => sealPinEnvelopeAsync(b.publicKey, body('444444')));
  expect(toB.agreements).toBe(1);
  expect((await open(b, toB.value)).json.pin).toBe('444444');
  await expect(open(a, toB.value)).rejects.toThrow();
});

test('a context kept unused past its age is dropped: the next seal agrees afresh', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance'] });
  const recipient = await EnvelopeKey.generate();
  const ready = await sealThenAhead(recipient, '555555', 'fake');
  jest.advanceTimersByTime(CONTEXT_AHEAD_MAX_AGE_MS);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  expect(zeroed(ready)).toBe(true);
  const late = await agreementsDuring(() => sealPinEnvelopeAsync(recipient.publicKey, body('666666')));
  expect(late.agreements).toBe(1);
  expect((await open(recipient, late.value)).json.pin).toBe('666666');
});

test('a context seals once and is zeroed after; one discarded is zeroed and seals nothing', async () => {
  const recipient = await EnvelopeKey.generate();
  const ctx = await hpkeSenderAsync(recipient.publicKey, PIN_ENVELOPE_INFO);
  expect(ctx.key.some((x) => x !== 0)).toBe(true);
  const sealed = sealOnce(ctx, te.encode('{"v":1}'));
  expect(zeroed(ctx)).toBe(true);
  using opened = await recipient.open(wireOf(sealed), PIN_ENVELOPE_INFO);
  expect(Buffer.from(opened.buffer, opened.byteOffset, opened.length).toString()).toBe('{"v":1}');
  expect(() => sealOnce(ctx, te.encode('again'))).toThrow(/once/);
  const other = await hpkeSenderAsync(recipient.publicKey, PIN_ENVELOPE_INFO);
  discardContext(other);
  expect(zeroed(other)).toBe(true);
  expect(() => sealOnce(other, te.encode('x'))).toThrow(/once/);
});

test('a seal to another key drops the context made for the last one (key and nonce zeroed), and the next is made for the new key', async () => {
  const [a, b] = [await EnvelopeKey.generate(), await EnvelopeKey.generate()];
  const forA = await sealThenAhead(a, '111111');
  expect(waiting()).toEqual([hex(a.publicKey)]);
  const before = derive.mock.calls.length;
  await sealPinEnvelopeAsync(b.publicKey, body('222222'));
  await sleep(0);
  expect(zeroed(forA)).toBe(true);
  await sleep(CONTEXT_AHEAD_DELAY_MS);
  await aheadMade(before + 1);
  expect(waiting()).toEqual([hex(b.publicKey)]);
});

test('a seal to another key within the delay: the context coming for the old key gives way to the new key’s', async () => {
  const [a, b] = [await EnvelopeKey.generate(), await EnvelopeKey.generate()];
  await sealPinEnvelopeAsync(a.publicKey, body('111111'));
  const before = derive.mock.calls.length;
  await sealPinEnvelopeAsync(b.publicKey, body('222222')); // before A's was made: a new attestation's key, say
  await sleep(CONTEXT_AHEAD_DELAY_MS);
  await aheadMade(before + 1);
  await sleep(CONTEXT_AHEAD_DELAY_MS + 20);
  expect(waiting()).toEqual([hex(b.publicKey)]);
  expect(made.filter((m) => m.pkR === hex(a.publicKey)).every((m) => m.context.used)).toBe(true);
});

test('dropContextAhead (logout) zeroes the context made ahead, and a seal in flight then makes none', async () => {
  const recipient = await EnvelopeKey.generate();
  const ready = await sealThenAhead(recipient, '111111');
  // A client with no session: logout sends nothing, and drops what was made ahead.
  await createClient({ baseUrl: 'http://127.0.0.1:9', root: new Uint8Array(1) }).logout();
  await sleep(0);
  expect(zeroed(ready)).toBe(true);
  // A seal under way when it runs (waiting for an attestation, say) makes nothing ahead when it ends.
  const sealing = sealPinEnvelopeAsync(recipient.publicKey, body('222222'));
  dropContextAhead();
  await sealing;
  await sleep(CONTEXT_AHEAD_DELAY_MS + 30);
  expect(waiting()).toEqual([]);
});

test('a context past its age by the clock (a machine that slept: its timers stood still) is zeroed and not used', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance'] });
  const recipient = await EnvelopeKey.generate();
  const ready = await sealThenAhead(recipient, '111111', 'fake');
  jest.setSystemTime(Date.now() + CONTEXT_AHEAD_MAX_AGE_MS + 1); // the clock moves, no timer runs
  const late = await agreementsDuring(() => sealPinEnvelopeAsync(recipient.publicKey, body('222222')));
  expect(late.agreements).toBe(1);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  expect(zeroed(ready)).toBe(true);
  expect((await open(recipient, late.value)).json.pin).toBe('222222');
});

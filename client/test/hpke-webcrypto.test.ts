/**
 * The SDK seals envelopes with WebCrypto's X25519 where the platform has it (hpkeSealAsync), noble's otherwise.
 * Each envelope is opened by the enclave's own HPKE (node:crypto's X25519, enclave/src/envelope/hpke.ts), an
 * implementation that shares no code with the client's; the native path is shown taken by counting the calls, and
 * the fallback by a WebCrypto without X25519.
 */
import { EnvelopeKey, PIN_ENVELOPE_INFO } from '../../enclave/src/envelope/hpke.js';
import { hpkeSealAsync, wireOf } from '../src/hpke.js';

const te = new TextEncoder();
const subtle = globalThis.crypto.subtle;

/** The platform's SubtleCrypto, counting each call by name. */
function counting(): { subtle: SubtleCrypto; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const wrapped = new Proxy(subtle, {
    get(target, name: string) {
      const value = Reflect.get(target, name) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { subtle: wrapped, calls };
}

test('with the platform’s X25519: sealed natively (key made, exported, agreed in WebCrypto), opened by the enclave', async () => {
  const recipient = await EnvelopeKey.generate();
  const { subtle: native, calls } = counting();
  const encs = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const message = te.encode(`{"v":1,"pin":"4938${i}"}`);
    const sealed = await hpkeSealAsync(recipient.publicKey, PIN_ENVELOPE_INFO, message, undefined, native);
    expect(sealed.enc).toHaveLength(32);
    encs.add(Buffer.from(sealed.enc).toString('hex'));
    using opened = await recipient.open(wireOf(sealed), PIN_ENVELOPE_INFO);
    expect(Buffer.from(opened.buffer, opened.byteOffset, opened.length)).toEqual(Buffer.from(message));
  }
  expect(encs.size).toBe(20); // a fresh ephemeral key each time
  expect(calls.deriveBits).toBe(20);
  expect(calls.exportKey).toBe(20);
  // Bound to the info: another info does not open.
  const sealed = await hpkeSealAsync(recipient.publicKey, te.encode('another info'), te.encode('x'), undefined, native);
  await expect(recipient.open(wireOf(sealed), PIN_ENVELOPE_INFO)).rejects.toThrow();
});

test('without X25519 in WebCrypto, or without WebCrypto: sealed by noble, opened by the enclave all the same', async () => {
  const recipient = await EnvelopeKey.generate();
  const noX25519 = new Proxy(subtle, {
    get(target, name: string) {
      if (name === 'generateKey') return () => Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'));
      if (name === 'deriveBits') return () => Promise.reject(new Error('deriveBits must not be called'));
      return Reflect.get(target, name);
    },
  });
  for (const platform of [noX25519, undefined]) {
    const message = te.encode('{"v":1,"pin":"271828"}');
    const sealed = await hpkeSealAsync(recipient.publicKey, PIN_ENVELOPE_INFO, message, undefined, platform);
    using opened = await recipient.open(wireOf(sealed), PIN_ENVELOPE_INFO);
    expect(Buffer.from(opened.buffer, opened.byteOffset, opened.length)).toEqual(Buffer.from(message));
  }
});

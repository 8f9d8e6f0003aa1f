/**
 * The SDK seals envelopes with WebCrypto's X25519 where the platform has it (hpkeSealAsync), noble's otherwise.
 * Each envelope is opened by the enclave's own HPKE (node:crypto's X25519, enclave/src/envelope/hpke.ts), an
 * implementation that shares no code with the client's; the native path is shown taken by counting the calls, and
 * the fallback by a WebCrypto without X25519.
 */
import { EnvelopeKey, PIN_ENVELOPE_INFO } from '../../enclave/src/envelope/hpke.js';
import { jest } from '@jest/globals';
import { sealPinEnvelopeAsync } from '../src/envelope.js';
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
  expect(calls.deriveBits).toBe(21); // one agreement each, and the one of the round trip that asked whether it can
  expect(calls.exportKey).toBe(21);
  // Bound to the info: another info does not open.
  const sealed = await hpkeSealAsync(recipient.publicKey, te.encode('another info'), te.encode('x'), undefined, native);
  await expect(recipient.open(wireOf(sealed), PIN_ENVELOPE_INFO)).rejects.toThrow();
});

test('without X25519 in WebCrypto, with one that makes keys but cannot agree, or without WebCrypto: noble seals, the enclave opens', async () => {
  const recipient = await EnvelopeKey.generate();
  const noX25519 = new Proxy(subtle, {
    get(target, name: string) {
      if (name === 'generateKey') return () => Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'));
      if (name === 'deriveBits') return () => Promise.reject(new Error('deriveBits must not be called'));
      return Reflect.get(target, name);
    },
  });
  // As some runtimes were: keys made and exported, the agreement not supported.
  let partialDerives = 0;
  const partial = new Proxy(subtle, {
    get(target, name: string) {
      if (name === 'deriveBits')
        return () => {
          partialDerives++;
          return Promise.reject(new DOMException('The algorithm is not supported', 'NotSupportedError'));
        };
      const value = Reflect.get(target, name) as (...a: unknown[]) => unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  for (const platform of [noX25519, partial, null]) {
    const message = te.encode('{"v":1,"pin":"271828"}');
    const sealed = await hpkeSealAsync(recipient.publicKey, PIN_ENVELOPE_INFO, message, undefined, platform);
    using opened = await recipient.open(wireOf(sealed), PIN_ENVELOPE_INFO);
    expect(Buffer.from(opened.buffer, opened.byteOffset, opened.length)).toEqual(Buffer.from(message));
  }
  expect(partialDerives).toBe(1); // the round trip asked once, then noble
});

test('a low-order recipient key is refused on the native path as on noble’s (an all-zero agreement, RFC 9180 §7.1.4)', async () => {
  for (const lowOrder of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
    await expect(hpkeSealAsync(lowOrder, PIN_ENVELOPE_INFO, te.encode('x'), undefined, counting().subtle)).rejects.toThrow();
    await expect(hpkeSealAsync(lowOrder, PIN_ENVELOPE_INFO, te.encode('x'), undefined, null)).rejects.toThrow();
  }
});

test('the SDK’s own sealing (sealPinEnvelopeAsync) takes the platform’s WebCrypto here, and the enclave opens it', async () => {
  const recipient = await EnvelopeKey.generate();
  const derive = jest.spyOn(globalThis.crypto.subtle, 'deriveBits');
  try {
    const before = derive.mock.calls.length;
    const wire = await sealPinEnvelopeAsync(recipient.publicKey, {
      purpose: 'sign',
      sub: 'user-1',
      walletId: 'w-1',
      digest: '0x' + '11'.repeat(32),
      pin: '493817',
    });
    expect(derive.mock.calls.length).toBeGreaterThan(before);
    using opened = await recipient.open(Uint8Array.from(Buffer.from(wire, 'base64')), PIN_ENVELOPE_INFO);
    expect(JSON.parse(Buffer.from(opened.buffer, opened.byteOffset, opened.length).toString())).toMatchObject({ v: 1, pin: '493817', walletId: 'w-1' });
  } finally {
    derive.mockRestore();
  }
});

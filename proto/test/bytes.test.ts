import { describe, expect, it } from '@jest/globals';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { randomBytes } from 'node:crypto';
import { equalBytes, expectLength, fromHex, toHex, toHex0x } from '../src/bytes.js';

describe('byte helpers', () => {
  it('write and read hex as noble and Node do', () => {
    for (const n of [0, 1, 2, 31, 32, 33, 255]) {
      const bytes = new Uint8Array(randomBytes(n));
      expect(toHex(bytes)).toBe(bytesToHex(bytes));
      expect(toHex(bytes)).toBe(Buffer.from(bytes).toString('hex'));
      expect(toHex0x(bytes)).toBe(`0x${bytesToHex(bytes)}`);
      expect(fromHex(toHex(bytes))).toEqual(hexToBytes(bytesToHex(bytes)));
      expect(fromHex(toHex(bytes).toUpperCase())).toEqual(bytes);
      expect(fromHex(toHex0x(bytes), { prefix: true })).toEqual(bytes);
    }
    expect(toHex(Uint8Array.of(0, 0x0f, 0xf0, 0xff))).toBe('000ff0ff');
  });

  it('refuse what is not hex bytes', () => {
    for (const bad of ['0', 'abc', 'zz', '0x00', ' 00', '00 ', '+1']) expect(() => fromHex(bad)).toThrow('expected an even-length hex string');
    for (const bad of ['00', '0x0', '0xzz', '0X00']) expect(() => fromHex(bad, { prefix: true })).toThrow('expected 0x-prefixed hex bytes');
    expect(fromHex('0x', { prefix: true })).toEqual(new Uint8Array(0));
  });

  it('compare bytes, length first', () => {
    const a = Uint8Array.of(1, 2, 3);
    expect(equalBytes(a, Uint8Array.of(1, 2, 3))).toBe(true);
    expect(equalBytes(a, Uint8Array.of(1, 2, 4))).toBe(false);
    expect(equalBytes(a, Uint8Array.of(0, 2, 3))).toBe(false);
    expect(equalBytes(a, Uint8Array.of(1, 2))).toBe(false);
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    // Every bit position of every byte counts.
    for (let i = 0; i < 32; i++)
      for (let bit = 0; bit < 8; bit++) {
        const x = new Uint8Array(randomBytes(32));
        const y = x.slice();
        y[i]! ^= 1 << bit;
        expect(equalBytes(x, y)).toBe(false);
      }
  });

  it('check a length and name what is wrong', () => {
    const k = new Uint8Array(32);
    expect(expectLength(k, 32, 'a data key')).toBe(k);
    expect(() => expectLength(k, 16, 'a data key')).toThrow(new RangeError('a data key must be 16 bytes, not 32'));
  });
});

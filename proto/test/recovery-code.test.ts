/** Recovery codes as people write them: 28 Crockford base32 characters, a CRC-10 that catches typos. */
import { randomBytes } from 'node:crypto';
import { formatRecoveryCode, parseRecoveryCode, RecoveryCodeFormatError } from '../src/recovery-code.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

test('16 bytes round-trip through the written form, whatever case, spaces or dashes', () => {
  for (let i = 0; i < 200; i++) {
    const bytes = randomBytes(16);
    const code = formatRecoveryCode(bytes);
    expect(code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$/);
    for (const typed of [code, code.toLowerCase(), code.replaceAll('-', ' '), code.replaceAll('-', ''), ` ${code} `])
      expect(Buffer.from(parseRecoveryCode(typed)).equals(bytes)).toBe(true);
    expect(Buffer.from(parseRecoveryCode(new TextEncoder().encode(code))).equals(bytes)).toBe(true);
  }
  // O is read as 0, I and L as 1.
  const zeros = formatRecoveryCode(new Uint8Array(16));
  expect(Buffer.from(parseRecoveryCode(zeros.replaceAll('0', 'O'))).equals(Buffer.alloc(16))).toBe(true);
});

test('every single mistyped character and every swap of two neighbours is caught', () => {
  for (let n = 0; n < 5; n++) {
    const chars = formatRecoveryCode(randomBytes(16)).replaceAll('-', '').split('');
    for (let i = 0; i < chars.length; i++) {
      for (const c of ALPHABET) {
        if (c === chars[i]) continue;
        const typo = [...chars];
        typo[i] = c;
        expect(() => parseRecoveryCode(typo.join(''))).toThrow(RecoveryCodeFormatError);
      }
      if (i + 1 < chars.length && chars[i] !== chars[i + 1]) {
        const swapped = [...chars];
        [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
        expect(() => parseRecoveryCode(swapped.join(''))).toThrow(RecoveryCodeFormatError);
      }
    }
  }
});

test('a wrong length or a character outside the alphabet says so', () => {
  const code = formatRecoveryCode(randomBytes(16));
  expect(() => parseRecoveryCode(code.slice(0, -1))).toThrow(/28 characters/);
  expect(() => parseRecoveryCode(code + 'A')).toThrow(/28 characters/);
  expect(() => parseRecoveryCode('U' + code.slice(1))).toThrow(/letters/);
  expect(() => parseRecoveryCode('')).toThrow(RecoveryCodeFormatError);
  expect(() => formatRecoveryCode(new Uint8Array(15))).toThrow(RangeError);
});

/**
 * src/keys/phrase.ts: a wallet's recovery phrase written as bytes, never as a string, against the BIP-39 test
 * vectors (Trezor's, all four entropy patterns at 128 and 256 bits) and @scure/bip39 on random entropy of every
 * allowed length; the seed made from it (native PBKDF2) against @scure/bip39's; an export's plaintext against the
 * JSON it replaces; and back: an import's phrase, as bytes, to its entropy.
 */
import { randomBytes } from 'node:crypto';
import { entropyToMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { seedFromEntropy } from '../src/keys/derive.js';
import { entropyOfPhrase, exportPlaintext, phraseBytes } from '../src/keys/phrase.js';
import { SecretBytes } from '../src/secret.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

test.each([
  ['00'.repeat(16), `${'abandon '.repeat(11)}about`],
  ['7f'.repeat(16), 'legal winner thank year wave sausage worth useful legal winner thank yellow'],
  ['80'.repeat(16), 'letter advice cage absurd amount doctor acoustic avoid letter advice cage above'],
  ['ff'.repeat(16), `${'zoo '.repeat(11)}wrong`],
  ['9e885d952ad362caeb4efe34a8e91bd2', 'ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic'],
  ['00'.repeat(32), `${'abandon '.repeat(23)}art`],
  ['ff'.repeat(32), `${'zoo '.repeat(23)}vote`],
  [
    '68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c',
    'hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy gospel tennis maple dilemma loan word shrug inflict delay length',
  ],
])('BIP-39 test vector: entropy %s', (entropy, phrase) => {
  expect(text(phraseBytes(Buffer.from(entropy, 'hex')))).toBe(phrase);
});

test('every allowed entropy length (12 to 24 words), 200 random entropies each: the same bytes as @scure/bip39', () => {
  for (const length of [16, 20, 24, 28, 32]) {
    for (let i = 0; i < 200; i++) {
      const entropy = new Uint8Array(randomBytes(length));
      const phrase = phraseBytes(entropy);
      expect(phrase).toBeInstanceOf(SecretBytes);
      expect(Buffer.from(phrase).equals(Buffer.from(entropyToMnemonic(entropy, english)))).toBe(true);
    }
  }
});

test('the seed of an entropy is @scure/bip39’s seed of its phrase (empty passphrase)', async () => {
  for (const length of [16, 32]) {
    const entropy = new Uint8Array(randomBytes(length));
    const seed = await seedFromEntropy(entropy);
    expect(Buffer.from(seed).equals(Buffer.from(mnemonicToSeedSync(entropyToMnemonic(entropy, english))))).toBe(true);
  }
});

test('an export’s plaintext is the JSON it replaces, byte for byte', () => {
  const entropy = new Uint8Array(randomBytes(32));
  const expected = new TextEncoder().encode(JSON.stringify({ mnemonic: entropyToMnemonic(entropy, english) }));
  expect(Buffer.from(exportPlaintext(entropy)).equals(Buffer.from(expected))).toBe(true);
});

test('entropy of a length BIP-39 does not allow is refused', () => {
  for (const length of [0, 12, 15, 17, 30, 33, 64]) expect(() => phraseBytes(new Uint8Array(length))).toThrow(RangeError);
});

describe('entropyOfPhrase: an import’s phrase read back to its entropy from bytes', () => {
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
  const entropyOf = (s: string): string | undefined => {
    const e = entropyOfPhrase(bytes(s));
    return e && Buffer.from(e).toString('hex');
  };

  test('the BIP-39 vectors and 1,000 random phrases of every length come back to their entropy', () => {
    expect(entropyOf(`${'abandon '.repeat(11)}about`)).toBe('00'.repeat(16));
    expect(entropyOf(`${'zoo '.repeat(23)}vote`)).toBe('ff'.repeat(32));
    expect(entropyOf('ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic')).toBe('9e885d952ad362caeb4efe34a8e91bd2');
    for (const length of [16, 20, 24, 28, 32]) {
      for (let i = 0; i < 200; i++) {
        const entropy = new Uint8Array(randomBytes(length));
        expect(entropyOf(entropyToMnemonic(entropy, english))).toBe(Buffer.from(entropy).toString('hex'));
      }
    }
    // The first and last words of the list (the binary search's ends).
    expect(entropyOf(entropyToMnemonic(new Uint8Array(32).fill(0), english))).toBe('00'.repeat(32));
  });

  test('anything but a normalised, valid phrase is refused: checksum, unknown words, prefixes, counts, spacing, case', () => {
    const good = `${'abandon '.repeat(11)}about`;
    expect(entropyOf(`${'abandon '.repeat(11)}abandon`)).toBeUndefined(); // checksum
    expect(entropyOf(good.replace('about', 'aboutx'))).toBeUndefined();
    expect(entropyOf(good.replace('about', 'abou'))).toBeUndefined();
    expect(entropyOf(good.replace('about', 'zzzz'))).toBeUndefined();
    expect(entropyOf(good.replace('about', 'aaaa'))).toBeUndefined();
    expect(entropyOf(`${'abandon '.repeat(10)}about`)).toBeUndefined(); // 11 words
    expect(entropyOf(`${'abandon '.repeat(12)}about`)).toBeUndefined(); // 13 words
    expect(entropyOf(`${good} `)).toBeUndefined();
    expect(entropyOf(` ${good}`)).toBeUndefined();
    // Eleven words and a space: an empty last word, which must not count as "abandon" (its 11 bits zero). About one
    // phrase in 16 is valid with "abandon" last, so 400 random ones reach that case about 25 times.
    for (const phrase of [`${'abandon '.repeat(11)}about`, ...Array.from({ length: 400 }, () => entropyToMnemonic(randomBytes(16), english))]) {
      const eleven = phrase.split(' ').slice(0, 11).join(' ');
      expect(entropyOf(`${eleven} `)).toBeUndefined();
      expect(entropyOf(` ${eleven}`)).toBeUndefined();
    }
    expect(entropyOf(good.replace(' ', '  '))).toBeUndefined();
    expect(entropyOf(good.toUpperCase())).toBeUndefined();
    expect(entropyOf('')).toBeUndefined();
    // Every word scure knows is found; every word with a letter changed that scure does not know is not.
    for (const word of english.slice(0, 2048)) {
      const phrase = `${word} `.repeat(11) + word;
      expect(entropyOf(phrase) !== undefined).toBe(validateMnemonic(phrase, english));
    }
  });
});

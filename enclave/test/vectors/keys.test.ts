/**
 * Key derivation against published vectors (BIP-39, BIP-32, SLIP-0010,
 * BIP-84), against the addresses MetaMask and Phantom show for well-known
 * mnemonics, and against independent libraries (viem, @solana/kit).
 */
import fc from 'fast-check';
import { HDKey } from '@scure/bip32';
import { mnemonicToEntropy, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { entropyOfPhrase } from '../../src/keys/phrase.js';
import { mnemonicToAccount } from 'viem/accounts';
import { createKeyPairFromPrivateKeyBytes, getAddressFromPublicKey } from '@solana/kit';
import {
  deriveAccount,
  derivePublicAccount,
  initialAccounts,
  normaliseMnemonic,
  pathOf,
  seedFromEntropy,
  bip32Secp256k1,
  slip10Ed25519,
  PublicDerivationCache,
  secp256k1PublicKey,
} from '../../src/keys/derive.js';
import { mnemonicFromEntropy } from '../support/keys.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** BIP-39 seed in JavaScript (@scure/bip39): the reference the enclave's native seedFromEntropy is checked against. */
/** Whether the enclave takes `mnemonic` (normalised) as a valid phrase: keys/phrase.ts, on its bytes. */
const isValidMnemonic = (mnemonic: string): boolean => entropyOfPhrase(new TextEncoder().encode(mnemonic)) !== undefined;
const seedFromMnemonicSync = (mnemonic: string): Uint8Array => mnemonicToSeedSync(mnemonic, '');
const ABANDON = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const HARDHAT = 'test test test test test test test test test test test junk';

describe('BIP-39 (published Trezor vectors, 256-bit entropy)', () => {
  test.each([
    [
      '00'.repeat(32),
      `${'abandon '.repeat(23)}art`,
      'bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8',
    ],
    [
      '7f'.repeat(32),
      'legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title',
      'bc09fca1804f7e69da93c2f2028eb238c227f2e9dda30cd63699232578480a4021b146ad717fbb7e451ce9eb835f43620bf5c514db0f8add49f5d121449d3e87',
    ],
    [
      '80'.repeat(32),
      'letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless',
      'c0c519bd0e91a2ed54357d9d1ebef6f5af218a153624cf4f2da911a0ed8f7a09e2ef61af0aca007096df430022f7a2b6fb91661a9589097069720d015e4e982f',
    ],
    [
      'ff'.repeat(32),
      `${'zoo '.repeat(23)}vote`,
      'dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd31ed3992c456cdf60f5d4564b8ba3f05a69890ad',
    ],
  ])('entropy %s', (entropy, mnemonic, seedWithTrezor) => {
    expect(mnemonicFromEntropy(Buffer.from(entropy, 'hex'))).toBe(mnemonic);
    expect(isValidMnemonic(mnemonic)).toBe(true);
    // The vectors use the passphrase "TREZOR"; the product always uses the empty one.
    expect(hex(mnemonicToSeedSync(mnemonic, 'TREZOR'))).toBe(seedWithTrezor);
  });

  test('the empty-passphrase seed of the abandon…about mnemonic', async () => {
    expect(hex(seedFromMnemonicSync(ABANDON))).toBe(
      '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4',
    );
    // The native PBKDF2 the enclave uses agrees with the JavaScript reference and the vector.
    expect(hex(await seedFromEntropy(mnemonicToEntropy(ABANDON, english)))).toBe(
      '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4',
    );
    expect(hex(await seedFromEntropy(mnemonicToEntropy(HARDHAT, english)))).toBe(hex(seedFromMnemonicSync(HARDHAT)));
  });

  test('a mnemonic always has 24 valid words; bad checksums and wrong lengths are refused', () => {
    expect(mnemonicFromEntropy(new Uint8Array(32).fill(3)).split(' ')).toHaveLength(24);
    expect(() => mnemonicFromEntropy(new Uint8Array(16))).toThrow(RangeError);
    expect(isValidMnemonic(`${'abandon '.repeat(23)}abandon`)).toBe(false);
    expect(isValidMnemonic('not a mnemonic')).toBe(false);
    expect(normaliseMnemonic('  Abandon\tABANDON  abandon\n')).toBe('abandon abandon abandon');
  });
});

describe('BIP-32 test vector 1 (the library used for secp256k1)', () => {
  const root = HDKey.fromMasterSeed(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
  test.each([
    ['m', 'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi'],
    ["m/0'", 'xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7'],
    ["m/0'/1", 'xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs'],
    ["m/0'/1/2'", 'xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM'],
    ["m/0'/1/2'/2", 'xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334'],
    ["m/0'/1/2'/2/1000000000", 'xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1rFSruoUihUZREPSL39UNdE3BBDu76'],
  ])('%s', (path, xprv) => {
    expect(root.derive(path).privateExtendedKey).toBe(xprv);
    // The enclave's own (native) derivation reaches the same private key.
    expect(hex(bip32Secp256k1(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'), path))).toBe(hex(root.derive(path).privateKey!));
  });

  test('the native derivation agrees with @scure/bip32 on the wallet paths of random seeds', () => {
    for (let i = 0; i < 20; i++) {
      const seed = Uint8Array.from({ length: 64 }, (_, j) => (i * 31 + j * 7) & 0xff);
      for (const path of [`m/44'/60'/0'/0/${i}`, `m/84'/0'/0'/0/${i}`, "m/0/1/2'/3"]) {
        expect(hex(bip32Secp256k1(seed, path))).toBe(hex(HDKey.fromMasterSeed(seed).derive(path).privateKey!));
      }
    }
  });
});

describe('SLIP-0010 ed25519 test vector 1 (our implementation)', () => {
  const seed = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  test.each([
    [[], '90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb', '2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7'],
    [[0], '8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69', '68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3'],
    [[0, 1], 'a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14', 'b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2'],
    [[0, 1, 2], '2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c', '92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9'],
    [[0, 1, 2, 2], '8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc', '30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662'],
    [
      [0, 1, 2, 2, 1000000000],
      '68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230',
      '8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793',
    ],
  ])('m/%j', (path, chainCode, key) => {
    const node = slip10Ed25519(seed, path as number[]);
    expect(hex(node.chainCode)).toBe(chainCode);
    expect(hex(node.key)).toBe(key);
  });
});

describe('addresses wallets show for well-known mnemonics', () => {
  test('MetaMask / Hardhat: test…junk', () => {
    const seed = seedFromMnemonicSync(HARDHAT);
    expect(derivePublicAccount(seed, 'evm', 0).address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(derivePublicAccount(seed, 'evm', 1).address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
  });

  test('MetaMask, Phantom and BIP-84: abandon…about', () => {
    const seed = seedFromMnemonicSync(ABANDON);
    expect(initialAccounts(seed)).toEqual([
      { network: 'evm', index: 0, path: "m/44'/60'/0'/0/0", address: '0x9858EfFD232B4033E47d90003D41EC34EcaEda94' },
      { network: 'solana', index: 0, path: "m/44'/501'/0'/0'", address: 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk' },
      // BIP-84's own test vector for m/84'/0'/0'/0/0.
      { network: 'bitcoin', index: 0, path: "m/84'/0'/0'/0/0", address: 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu' },
    ]);
  });
});

describe('independent libraries agree', () => {
  test('viem derives the same EVM accounts for random mnemonics and indexes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 1000 }), (entropy, index) => {
        const mnemonic = mnemonicFromEntropy(entropy);
        const ours = deriveAccount(seedFromMnemonicSync(mnemonic), 'evm', index);
        expect(ours.address).toBe(mnemonicToAccount(mnemonic, { addressIndex: index }).address);
      }),
      { numRuns: 20 },
    );
  });

  test('@solana/kit computes the same Solana address from our private key', async () => {
    for (const fill of [1, 2, 3]) {
      const seed = seedFromMnemonicSync(mnemonicFromEntropy(new Uint8Array(32).fill(fill)));
      for (const index of [0, 1, 7]) {
        const ours = deriveAccount(seed, 'solana', index);
        const keyPair = await createKeyPairFromPrivateKeyBytes(ours.privateKey);
        expect(await getAddressFromPublicKey(keyPair.publicKey)).toBe(ours.address);
      }
    }
  });
});

describe('the public derivation cache', () => {
  test('with and without it, the same private keys and addresses (viem checks the EVM ones); a repeat computes nothing public', () => {
    const cache = new PublicDerivationCache();
    for (const mnemonic of [HARDHAT, ABANDON]) {
      const seed = seedFromMnemonicSync(mnemonic);
      for (const network of ['evm', 'solana', 'bitcoin'] as const) {
        for (const index of [0, 1, 5]) {
          const plain = deriveAccount(seed, network, index);
          const first = deriveAccount(seed, network, index, cache);
          const misses = cache.stats.misses;
          const again = deriveAccount(seed, network, index, cache);
          expect(cache.stats.misses).toBe(misses);
          for (const a of [first, again]) {
            expect(a.address).toBe(plain.address);
            expect(hex(a.privateKey)).toBe(hex(plain.privateKey));
          }
          if (network === 'evm') expect(again.address).toBe(mnemonicToAccount(mnemonic, { addressIndex: index }).address);
        }
      }
    }
    // EVM index 0 then 1: the parents' public keys are shared, only the new address is computed.
    const seed = seedFromMnemonicSync(mnemonicFromEntropy(new Uint8Array(32).fill(9)));
    deriveAccount(seed, 'evm', 0, cache);
    const before = cache.stats.misses;
    deriveAccount(seed, 'evm', 1, cache);
    expect(cache.stats.misses - before).toBe(1);
  });

  test('entries of one seed never answer for another; values are public keys and addresses only; bounded', () => {
    const cache = new PublicDerivationCache(16);
    const seeds = [1, 2, 3, 4, 5].map((f) => seedFromMnemonicSync(mnemonicFromEntropy(new Uint8Array(32).fill(f))));
    const tags = seeds.map((s) => cache.tagOf(s));
    expect(new Set(tags).size).toBe(5);
    // The tag is keyed: another process (another cache) tags the same seed differently.
    expect(new PublicDerivationCache().tagOf(seeds[0]!)).not.toBe(tags[0]);
    for (const seed of seeds) {
      const a = deriveAccount(seed, 'evm', 0, cache);
      expect(a.address).toBe(deriveAccount(seed, 'evm', 0).address);
      const values = [...(cache as unknown as { entries: Map<string, Uint8Array | string> }).entries.values()];
      for (const v of values) expect(typeof v === 'string' || v.length === 33).toBe(true);
      expect(values.some((v) => typeof v !== 'string' && hex(v) === hex(secp256k1PublicKey(a.privateKey)))).toBe(false);
    }
    expect(cache.size).toBeLessThanOrEqual(16);
  });
});

test('paths and index bounds', () => {
  expect(pathOf('solana', 5)).toBe("m/44'/501'/5'/0'");
  // An index the host sends beyond BIP-32's non-hardened range (protobuf allows up to 2^32 - 1) is a typed refusal.
  for (const bad of [-1, 2 ** 31, 2 ** 32 - 1, 1.5]) expect(() => pathOf('evm', bad)).toThrow(expect.objectContaining({ code: 'ACCOUNT_INDEX_INVALID' }));
});

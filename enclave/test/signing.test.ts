/**
 * Signing, checked with independent code: viem for EVM (transactions signed
 * byte-for-byte as viem signs them, recovered senders, EIP-191, EIP-712 with
 * the EIP's own example), @solana/kit and @noble/curves for Solana.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import {
  hashMessage,
  hashTypedData,
  keccak256,
  parseTransaction,
  recoverTransactionAddress,
  recoverTypedDataAddress,
  serializeTransaction,
  toHex,
  verifyMessage,
  type TransactionSerializable,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  compileTransaction,
  createTransactionMessage,
  getAddressFromPublicKey,
  getTransactionDecoder,
  getTransactionEncoder,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  createKeyPairFromPrivateKeyBytes,
  type Blockhash,
} from '@solana/kit';
import { personalMessageDigest, prepareEvmTransaction, selfCheck, signDigest, typedDataDigest, type EvmTransactionRequest } from '../src/signing/evm.js';
import { rfc6979Nonce, signSecp256k1 } from '../src/signing/secp256k1.js';
import {
  isSolanaTransactionMessage,
  parseSolanaTransaction,
  selfCheckEd25519,
  signSolanaMessage,
  signSolanaTransaction,
  solanaDigest,
} from '../src/signing/solana.js';
import { compileMessage, fiveSolToAttacker, splTransferChecked, solTransfer, v0WithLookup, ATTACKER } from '../../test/support/solana-messages.js';
import { COW_KEY, MAIL_EXAMPLE_WITH_DOMAIN_TYPE } from '../../test/support/eip712-mail.js';

const key = Uint8Array.from(Buffer.from('4c0883a69102937d6231471b5dbb6204fe512961708279f1d7b1b8e7e8b1b1e1', 'hex'));
const account = privateKeyToAccount(toHex(key));
const hex = (b: Uint8Array): `0x${string}` => toHex(b);

function viemTx(req: EvmTransactionRequest): TransactionSerializable {
  const base = {
    chainId: Number(req.chainId),
    to: req.to as `0x${string}` | undefined,
    value: BigInt(req.value ?? 0),
    nonce: Number(req.nonce),
    gas: BigInt(req.gas!),
    data: req.data?.length ? hex(req.data) : undefined,
  };
  const accessList = (req.accessList ?? []).map((e) => ({ address: e.address as `0x${string}`, storageKeys: e.storageKeys as `0x${string}`[] }));
  if (req.type === 'legacy') return { ...base, type: 'legacy', gasPrice: BigInt(req.gasPrice!) };
  if (req.type === 'eip2930') return { ...base, type: 'eip2930', gasPrice: BigInt(req.gasPrice!), accessList };
  return { ...base, type: 'eip1559', maxFeePerGas: BigInt(req.maxFeePerGas!), maxPriorityFeePerGas: BigInt(req.maxPriorityFeePerGas!), accessList };
}

describe('EVM transactions', () => {
  const cases: EvmTransactionRequest[] = [
    {
      type: 'legacy',
      chainId: 1,
      to: '0x3535353535353535353535353535353535353535',
      value: '1000000000000000000',
      nonce: '9',
      gas: '21000',
      gasPrice: '20000000000',
    },
    {
      type: 'eip2930',
      chainId: 137,
      to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      value: '0x10',
      nonce: '0',
      gas: '50000',
      gasPrice: '0x3b9aca00',
      accessList: [{ address: '0x0000000000000000000000000000000000000001', storageKeys: ['0x' + '00'.repeat(31) + '01'] }],
    },
    {
      type: 'eip1559',
      chainId: 31337,
      to: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      value: '12345',
      nonce: '3',
      gas: '100000',
      maxFeePerGas: '2000000000',
      maxPriorityFeePerGas: '1000000000',
      data: Uint8Array.of(0xa9, 0x05, 0x9c, 0xbb),
    },
    { type: 'eip1559', chainId: 8217, nonce: '0', gas: '500000', maxFeePerGas: '1', maxPriorityFeePerGas: '0', data: Uint8Array.of(0x60, 0x80) },
  ];

  test.each(cases.map((c) => [c.type, c.chainId, c] as const))(
    '%s on chain %s: same digest, same signed bytes as viem, sender recovers',
    async (_t, _c, req) => {
      const prepared = prepareEvmTransaction(req);
      const vtx = viemTx(req);
      expect(hex(prepared.digest)).toBe(keccak256(serializeTransaction(vtx)));
      const out = prepared.sign(key);
      expect(hex(out.signedTransaction)).toBe(await account.signTransaction(vtx));
      expect(await recoverTransactionAddress({ serializedTransaction: hex(out.signedTransaction) as never })).toBe(account.address);
      expect(hex(out.hash)).toBe(keccak256(hex(out.signedTransaction)));
      const parsed = parseTransaction(hex(out.signedTransaction));
      expect(parsed.chainId).toBe(Number(req.chainId));
      expect(out.signature).toHaveLength(65);
    },
  );

  test('random EIP-1559 transactions match viem', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 2n ** 96n }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.uint8Array({ maxLength: 64 }),
        async (value, nonce, chainId, data) => {
          const req: EvmTransactionRequest = {
            type: 'eip1559',
            chainId,
            to: '0x0000000000000000000000000000000000000002',
            value: value.toString(),
            nonce: String(nonce),
            gas: '21000',
            maxFeePerGas: '100',
            maxPriorityFeePerGas: '2',
            data,
          };
          expect(hex(prepareEvmTransaction(req).sign(key).signedTransaction)).toBe(await account.signTransaction(viemTx(req)));
        },
      ),
      { numRuns: 25 },
    );
  });

  test.each([
    [{ type: 'eip1559', chainId: 1, nonce: '1', gas: '21000', maxFeePerGas: '1', maxPriorityFeePerGas: '2' }, /exceeds/],
    [{ type: 'eip1559', chainId: 1, nonce: '1', gas: '21000', gasPrice: '1' }, /gasPrice/],
    [{ type: 'legacy', chainId: 1, nonce: '1', gas: '21000' }, /gasPrice is required/],
    [{ type: 'legacy', chainId: 1, nonce: '-1', gas: '21000', gasPrice: '1' }, /nonce/],
    [{ type: 'legacy', chainId: 1, nonce: '1', gas: '1e5', gasPrice: '1' }, /gas/],
    [{ type: 'legacy', chainId: 1, nonce: '1', gas: '21000', gasPrice: '1', to: '0x1234' }, /to/],
    [{ type: 'legacy', chainId: 0, nonce: '1', gas: '21000', gasPrice: '1' }, /chainId/],
    // A uint64 chain id above 2^53 - 1 was rounded by protobuf's number decoding: refused, never signed for a neighbour.
    [{ type: 'legacy', chainId: 2 ** 53 + 2, nonce: '1', gas: '21000', gasPrice: '1' }, /chainId/],
    [{ type: 'legacy', chainId: 1, nonce: '18446744073709551616', gas: '21000', gasPrice: '1' }, /nonce/],
    [{ type: 'bogus', chainId: 1, nonce: '1', gas: '21000' }, /type/],
  ] as Array<[EvmTransactionRequest, RegExp]>)('refuses %j', (req, why) => {
    expect(() => prepareEvmTransaction(req)).toThrow(expect.objectContaining({ code: 'TRANSACTION_INVALID', message: expect.stringMatching(why) }));
  });
});

describe('EIP-191', () => {
  test.each([['hello world'], [''], ['ünïcödé ✓']])('text %j: digest and signature as viem', async (text) => {
    const digest = personalMessageDigest({ text });
    expect(hex(digest)).toBe(hashMessage(text));
    const signature = signDigest(digest, key);
    expect(hex(signature)).toBe(await account.signMessage({ message: text }));
    expect(await verifyMessage({ address: account.address, message: text, signature: hex(signature) })).toBe(true);
  });

  test('a signature that does not recover to the signer (a fault, a wrong recovery bit) never leaves: selfCheck', () => {
    const digest = personalMessageDigest({ text: 'fault' });
    const good = signDigest(digest, key);
    expect(() => selfCheck(good, digest, key)).not.toThrow();
    const flipped = Uint8Array.from(good);
    flipped[64] = flipped[64] === 27 ? 28 : 27;
    expect(() => selfCheck(flipped, digest, key)).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
    const other = Uint8Array.from(good);
    other[40]! ^= 1;
    expect(() => selfCheck(other, digest, key)).toThrow();
  });

  test('selfCheck (native, from the key) agrees with recovering the public key (noble): every signature passes, every flipped bit fails', () => {
    for (let i = 0; i < 16; i++) {
      const k = secp256k1.utils.randomSecretKey();
      const d = randomBytes(32);
      const good = signDigest(d, k);
      // The independent check: noble recovers the signer's public key from the signature.
      const recovered = secp256k1.Signature.fromBytes(good.subarray(0, 64), 'compact')
        .addRecoveryBit(good[64]! - 27)
        .recoverPublicKey(d);
      expect(Buffer.from(recovered.toBytes(true))).toEqual(Buffer.from(secp256k1.getPublicKey(k, true)));
      expect(() => selfCheck(good, d, k)).not.toThrow();
      for (const at of [0, 17, 31, 32, 50, 63]) {
        const bad = Uint8Array.from(good);
        bad[at]! ^= 1 << (i % 8);
        expect(() => selfCheck(bad, d, k)).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
      }
      const otherDigest = Uint8Array.from(d);
      otherDigest[3]! ^= 0x80;
      expect(() => selfCheck(good, otherDigest, k)).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
      expect(() => selfCheck(good, d, secp256k1.utils.randomSecretKey())).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
      for (const v of [0, 26, 29, 31, 255]) {
        const bad = Uint8Array.from(good);
        bad[64] = v;
        expect(() => selfCheck(bad, d, k)).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
      }
    }
  });

  test('raw bytes', async () => {
    const raw = Uint8Array.of(0, 1, 2, 255);
    expect(hex(signDigest(personalMessageDigest({ raw }), key))).toBe(await account.signMessage({ message: { raw } }));
  });
});

describe('secp256k1: libsecp256k1 signs, an RFC 6979 recomputation checks', () => {
  const nobleSign = (d: Uint8Array, k: Uint8Array): Uint8Array => {
    const rec = secp256k1.sign(d, k, { prehash: false, format: 'recovered', lowS: true });
    return Uint8Array.from([...rec.subarray(1), 27 + rec[0]!]);
  };

  test('the same bytes as noble (RFC 6979, low s), random keys and digests, and digests at or above n', () => {
    const digests = [
      ...Array.from({ length: 48 }, () => randomBytes(32)),
      new Uint8Array(32).fill(0xff),
      Uint8Array.from(Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex')), // n itself
      new Uint8Array(32),
    ];
    for (const d of digests) {
      const k = secp256k1.utils.randomSecretKey();
      expect(Buffer.from(signSecp256k1(d, k)).toString('hex')).toBe(Buffer.from(nobleSign(d, k)).toString('hex'));
    }
  });

  test('the check refuses a valid signature with another nonce, and the high-s twin of a good one', () => {
    for (let i = 0; i < 8; i++) {
      const k = secp256k1.utils.randomSecretKey();
      const d = randomBytes(32);
      // Valid under the key, but made with a random nonce: what a covert channel would send.
      const rec = secp256k1.sign(d, k, { prehash: false, format: 'recovered', lowS: true, extraEntropy: true });
      const random = Uint8Array.from([...rec.subarray(1), 27 + rec[0]!]);
      expect(secp256k1.verify(random.subarray(0, 64), d, secp256k1.getPublicKey(k), { prehash: false })).toBe(true);
      expect(() => selfCheck(random, d, k)).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
      // The same signature with s → n − s and the recovery bit flipped is valid too (high s), and refused.
      const good = signSecp256k1(d, k);
      const n = secp256k1.Point.Fn.ORDER;
      const s = BigInt('0x' + Buffer.from(good.subarray(32, 64)).toString('hex'));
      const high = Uint8Array.from(good);
      high.set(Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'), 32);
      high[64] = good[64] === 27 ? 28 : 27;
      const recovered = secp256k1.Signature.fromBytes(high.subarray(0, 64), 'compact')
        .addRecoveryBit(high[64]! - 27)
        .recoverPublicKey(d);
      expect(Buffer.from(recovered.toBytes(true))).toEqual(Buffer.from(secp256k1.getPublicKey(k, true)));
      expect(() => selfCheck(high, d, k)).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
    }
  });

  test('the nonce: a new key or digest gives a new nonce, and the same ones the same (deterministic)', () => {
    const k = secp256k1.utils.randomSecretKey();
    const d = randomBytes(32);
    const a = Buffer.from(rfc6979Nonce(k, d)).toString('hex');
    expect(Buffer.from(rfc6979Nonce(k, d)).toString('hex')).toBe(a);
    expect(Buffer.from(rfc6979Nonce(k, randomBytes(32))).toString('hex')).not.toBe(a);
    expect(Buffer.from(rfc6979Nonce(secp256k1.utils.randomSecretKey(), d)).toString('hex')).not.toBe(a);
  });
});

describe('EIP-712', () => {
  // The example of EIP-712 itself (Mail from Cow to Bob), signed by keccak256("cow").
  const mail = MAIL_EXAMPLE_WITH_DOMAIN_TYPE;
  const cow = Uint8Array.from(Buffer.from(COW_KEY, 'hex'));

  test('the EIP’s example: digest and signature as published', () => {
    const digest = typedDataDigest(JSON.stringify(mail));
    expect(hex(digest)).toBe('0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2');
    const sig = signDigest(digest, cow);
    expect(hex(sig.subarray(0, 32))).toBe('0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d');
    expect(hex(sig.subarray(32, 64))).toBe('0x07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562');
    expect(sig[64]).toBe(28);
  });

  test('agrees with viem on arrays, nested structs, bytes, ints and a derived domain', async () => {
    const typed = {
      types: {
        Order: [
          { name: 'maker', type: 'address' },
          { name: 'amounts', type: 'uint256[]' },
          { name: 'delta', type: 'int64' },
          { name: 'salt', type: 'bytes32' },
          { name: 'memo', type: 'bytes' },
          { name: 'legs', type: 'Leg[2]' },
          { name: 'active', type: 'bool' },
        ],
        Leg: [
          { name: 'token', type: 'address' },
          { name: 'note', type: 'string' },
        ],
      },
      primaryType: 'Order',
      domain: { name: 'Exchange', chainId: 8453, verifyingContract: '0x0000000000000000000000000000000000000abc' },
      message: {
        maker: account.address,
        amounts: ['1', '2000000000000000000000'],
        delta: '-42',
        salt: '0x' + '11'.repeat(32),
        memo: '0xdeadbeef',
        legs: [
          { token: '0x0000000000000000000000000000000000000001', note: 'a' },
          { token: '0x0000000000000000000000000000000000000002', note: 'b' },
        ],
        active: true,
      },
    };
    const digest = typedDataDigest(JSON.stringify(typed));
    const viemTyped = { ...typed, message: { ...typed.message, amounts: typed.message.amounts.map(BigInt), delta: -42n } } as never;
    expect(hex(digest)).toBe(hashTypedData(viemTyped));
    const sig = signDigest(digest, key);
    expect(await recoverTypedDataAddress({ ...(viemTyped as object), signature: hex(sig) } as never)).toBe(account.address);
  });

  test.each([
    ['not JSON', '{'],
    ['missing message', JSON.stringify({ ...mail, message: undefined })],
    ['unknown primary type', JSON.stringify({ ...mail, primaryType: 'Nope' })],
    ['unknown field type', JSON.stringify({ ...mail, types: { ...mail.types, Person: [{ name: 'name', type: 'strung' }] } })],
    ['missing field', JSON.stringify({ ...mail, message: { ...mail.message, contents: undefined } })],
    ['extra field', JSON.stringify({ ...mail, message: { ...mail.message, extra: 1 } })],
    ['bad address', JSON.stringify({ ...mail, message: { ...mail.message, from: { name: 'Cow', wallet: '0x12' } } })],
    ['uint8 out of range', JSON.stringify({ types: { T: [{ name: 'x', type: 'uint8' }] }, primaryType: 'T', domain: { name: 'd' }, message: { x: 256 } })],
    // A struct named like a built-in type would replace it (the field `wallet: address` hashed as a struct).
    [
      'a struct named address',
      JSON.stringify({
        types: { address: [{ name: 'a', type: 'uint256' }], T: [{ name: 'x', type: 'address' }] },
        primaryType: 'T',
        domain: { name: 'd' },
        message: { x: { a: 1 } },
      }),
    ],
    [
      'a struct named uint256',
      JSON.stringify({
        types: { uint256: [{ name: 'a', type: 'bool' }], T: [{ name: 'x', type: 'uint256' }] },
        primaryType: 'T',
        domain: { name: 'd' },
        message: { x: { a: true } },
      }),
    ],
    ['a struct named bytes32', JSON.stringify({ ...mail, types: { ...mail.types, bytes32: [{ name: 'a', type: 'bool' }] } })],
    // The cap counts bytes: 100 000 three-byte characters are 300 000 bytes, under 256 Ki UTF-16 units.
    ['more than 256 KiB of UTF-8', JSON.stringify({ ...mail, message: { ...mail.message, contents: '€'.repeat(100_000) } })],
  ])('refuses %s', (_why, json) => {
    expect(() => typedDataDigest(json)).toThrow(expect.objectContaining({ code: 'TYPED_DATA_INVALID' }));
  });
});

describe('Solana', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
  const otherSigner = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
  const blockhash = { blockhash: '4NCYB3kRT8sCNodPNuCZo8VUh4xqpBQxsxed2wd9xaD4' as Blockhash, lastValidBlockHeight: 100n };

  async function build(version: 0 | 'legacy', feePayerKey: Uint8Array, extraSigner?: Uint8Array): Promise<Uint8Array> {
    const payer = address(await getAddressFromPublicKey((await createKeyPairFromPrivateKeyBytes(feePayerKey)).publicKey));
    const accounts = [
      { address: payer, role: AccountRole.WRITABLE_SIGNER },
      { address: address('HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk'), role: AccountRole.WRITABLE },
    ];
    if (extraSigner)
      accounts.push({
        address: address(await getAddressFromPublicKey((await createKeyPairFromPrivateKeyBytes(extraSigner)).publicKey)),
        role: AccountRole.READONLY_SIGNER,
      });
    const message = pipe(
      createTransactionMessage({ version }),
      (m) => setTransactionMessageFeePayer(payer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
      (m) =>
        appendTransactionMessageInstruction(
          { programAddress: address('11111111111111111111111111111111'), accounts, data: Uint8Array.of(2, 0, 0, 0, 64, 66, 15, 0, 0, 0, 0, 0) },
          m,
        ),
    );
    return new Uint8Array(getTransactionEncoder().encode(compileTransaction(message)));
  }

  test.each([['legacy' as const], [0 as const]])('%s transaction: our signature lands in our slot and verifies', async (version) => {
    const wire = await build(version, seed, otherSigner);
    const parsed = parseSolanaTransaction(wire);
    expect(parsed.version).toBe(version);
    expect(parsed.signatureCount).toBe(2);
    const { signature, signedTransaction } = signSolanaTransaction(wire, seed);
    const decoded = getTransactionDecoder().decode(signedTransaction);
    const mine = await getAddressFromPublicKey((await createKeyPairFromPrivateKeyBytes(seed)).publicKey);
    expect(Buffer.from(decoded.signatures[mine]!).equals(Buffer.from(signature))).toBe(true);
    expect(ed25519.verify(signature, new Uint8Array(decoded.messageBytes), ed25519.getPublicKey(seed))).toBe(true);
    // The other signer's slot is untouched (still zero).
    const theirs = Object.entries(decoded.signatures).find(([a]) => a !== mine)![1];
    expect(theirs === null || new Uint8Array(theirs).every((b) => b === 0)).toBe(true);
    expect(hex(solanaDigest(parsed.message))).toBe(hex(sha256(new Uint8Array(decoded.messageBytes))));
  });

  test('a key that is not a required signer is refused', async () => {
    const wire = await build(0, seed);
    expect(() => signSolanaTransaction(wire, otherSigner)).toThrow(expect.objectContaining({ code: 'TRANSACTION_INVALID' }));
  });

  test('truncated, padded or random transactions are refused with a typed error', async () => {
    const wire = await build('legacy', seed);
    for (let cut = 0; cut < wire.length; cut += 5) expect(() => parseSolanaTransaction(wire.subarray(0, cut))).toThrow(EnclaveWalletError);
    expect(() => parseSolanaTransaction(Uint8Array.from([...wire, 0]))).toThrow(EnclaveWalletError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseSolanaTransaction(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(EnclaveWalletError);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('raw messages', () => {
    const msg = new TextEncoder().encode('Sign in to Example');
    expect(ed25519.verify(signSolanaMessage(msg, seed), msg, ed25519.getPublicKey(seed))).toBe(true);
    expect(() => signSolanaMessage(new Uint8Array(0), seed)).toThrow(expect.objectContaining({ code: 'MESSAGE_INVALID' }));
  });

  test('an ed25519 signature that does not verify (a fault) never leaves: selfCheckEd25519 (OpenSSL) passes every good one, refuses every flipped bit', () => {
    for (let i = 0; i < 8; i++) {
      const key = ed25519.utils.randomSecretKey();
      const publicKey = ed25519.getPublicKey(key);
      const msg = new TextEncoder().encode(`message ${i}`);
      const good = ed25519.sign(msg, key);
      expect(() => selfCheckEd25519(good, msg, publicKey)).not.toThrow();
      for (let bit = i; bit < 512; bit += 8) {
        const bad = Uint8Array.from(good);
        bad[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => selfCheckEd25519(bad, msg, publicKey)).toThrow(
          expect.objectContaining({ code: 'INTERNAL_ERROR', message: 'signature self-check failed' }),
        );
      }
      expect(() => selfCheckEd25519(good, new TextEncoder().encode('another'), publicKey)).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
      expect(() => selfCheckEd25519(good, msg, ed25519.getPublicKey(ed25519.utils.randomSecretKey()))).toThrow(
        expect.objectContaining({ code: 'INTERNAL_ERROR' }),
      );
      expect(() => selfCheckEd25519(good.subarray(0, 63), msg, publicKey)).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
      expect(() => selfCheckEd25519(good, msg, new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'INTERNAL_ERROR' }));
    }
  });

  test('messages compiled by @solana/kit (legacy, v0, lookup tables, SPL) parse as transaction messages; text and off-chain messages do not', async () => {
    const payer = await getAddressFromPublicKey((await createKeyPairFromPrivateKeyBytes(seed)).publicKey);
    const kit = [
      fiveSolToAttacker(payer),
      compileMessage(0, payer, [solTransfer(payer, ATTACKER, 1n)]),
      compileMessage('legacy', payer, []),
      compileMessage(0, payer, [splTransferChecked(payer, 10n ** 6n, 6), solTransfer(payer, ATTACKER, 2n)]),
      v0WithLookup(payer),
    ];
    for (const message of kit) {
      expect(isSolanaTransactionMessage(message)).toBe(true);
      // What the wire parser reads as a message is the same judgement, and the same bytes.
      const wire = Uint8Array.from([1, ...new Uint8Array(64), ...message]);
      expect(Buffer.from(parseSolanaTransaction(wire).message).equals(Buffer.from(message))).toBe(true);
      // One byte more or less and it is no message at all.
      expect(isSolanaTransactionMessage(message.subarray(0, -1))).toBe(false);
      expect(isSolanaTransactionMessage(Uint8Array.from([...message, 0]))).toBe(false);
    }
    for (const text of ['Sign in to Example', 'x', '\u00e9t\u00e9 \ud83d\ude80', '\x01\x00\x01'])
      expect(isSolanaTransactionMessage(new TextEncoder().encode(text))).toBe(false);
    const offchain = Uint8Array.from([
      0xff,
      ...new TextEncoder().encode('solana offchain'),
      0,
      ...new Uint8Array(32),
      0,
      1,
      ...new Uint8Array(32),
      2,
      0,
      104,
      105,
    ]);
    expect(isSolanaTransactionMessage(offchain)).toBe(false);
  });

  test('a transfer passed as a message is refused: MESSAGE_IS_TRANSACTION', async () => {
    const payer = await getAddressFromPublicKey((await createKeyPairFromPrivateKeyBytes(seed)).publicKey);
    // v1 (kit compiles it already) is refused by its version prefix.
    const v1 = compileMessage(1, payer, [solTransfer(payer, ATTACKER, 5n)]);
    expect(v1[0]).toBe(0x81);
    for (const message of [fiveSolToAttacker(payer), v0WithLookup(payer), v1])
      expect(() => signSolanaMessage(message, seed)).toThrow(expect.objectContaining({ code: 'MESSAGE_IS_TRANSACTION' }));
  });
});

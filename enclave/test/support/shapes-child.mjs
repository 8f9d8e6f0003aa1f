// Run by shapes.test.ts with --allow-natives-syntax, on the build (enclave/dist): parses PIN
// envelopes of every kind and decodes sealed blobs of each version, and prints whether V8 gave each kind of object
// one map (docs/performance.md, twenty-fourth look: objects of a new shape met after V8 had optimised the request
// path made it compile that path again, on the enclave's core).
import { randomBytes } from 'node:crypto';
const { parseEnvelope, disposeEnvelope } = await import(new URL('../../dist/envelope/pin-envelope.js', import.meta.url).href);
const { decodeBlob, encodeBlob } = await import(new URL('../../dist/sealing/blob.js', import.meta.url).href);

const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)'); // a Function, so that this file parses without the flag
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)');
// One map, and not the map every object in dictionary mode shares (a `delete` gives an object that, and slow reads).
const oneMap = (objects) => objects.every((o) => hasFastProperties(o) && haveSameMap(o, objects[0]));

// Envelopes: each purpose's and factor's fields, in the SDK's order and in others (each client's JSON has its own key order).
const nonce = () => randomBytes(16).toString('hex');
const exp = Math.floor(Date.now() / 1000) + 60;
const digest = '0x' + 'ab'.repeat(32);
const prf = Buffer.alloc(32, 7).toString('base64url');
const assertion = { credentialId: 'AQID', authenticatorData: 'AAAA', clientDataJSON: 'e30', signature: 'MEQ' };
// An EVM message's binding, in the SDK's order; its factor and the rest follow it.
const evmMessage = { v: 1, purpose: 'sign', sub: 'u-1', walletId: 'w-1', digest, network: 'evm', address: '0x' + '11'.repeat(20), kind: 'evm-message' };
const jsons = [
  { ...evmMessage, pin: '493817', exp, nonce: nonce() },
  {
    nonce: nonce(),
    exp,
    pin: '493817',
    kind: 'evm-transaction',
    address: '0x' + '11'.repeat(20),
    network: 'evm',
    digest,
    walletId: 'w-1',
    sub: 'u-1',
    purpose: 'sign',
    v: 1,
  },
  {
    v: 1,
    purpose: 'sign',
    sub: 'u-1',
    walletId: 'w-1',
    digest,
    network: 'solana',
    address: 'So1ana',
    kind: 'solana-transaction',
    cluster: 'devnet',
    pin: '493817',
    exp,
    nonce: nonce(),
  },
  { v: 1, purpose: 'create-wallet', sub: 'u-1', pin: '493817', exp, nonce: nonce() },
  { v: 1, purpose: 'derive-account', sub: 'u-1', walletId: 'w-1', pin: '493817', exp, nonce: nonce() },
  { v: 1, purpose: 'change-pin', sub: 'u-1', walletId: 'w-1', pin: '493817', newPin: '770145', exp, nonce: nonce() },
  { v: 1, purpose: 'reset-pin', sub: 'u-1', walletId: 'w-1', recoveryCode: 'AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG', newPin: '770145', exp, nonce: nonce() },
  { v: 1, purpose: 'export', sub: 'u-1', walletId: 'w-1', pin: '493817', exp, nonce: nonce() },
  // A passkey's assertion instead of the PIN; a phrase to import (taken out, or typed with letters NFKD changes); a new passkey.
  { ...evmMessage, passkey: assertion, prf, exp, nonce: nonce() },
  { v: 1, purpose: 'import', sub: 'u-1', pin: '493817', mnemonic: 'abandon '.repeat(11) + 'about', exp, nonce: nonce() },
  { v: 1, purpose: 'import', sub: 'u-1', pin: '493817', mnemonic: 'Äbandon x', exp, nonce: nonce() },
  {
    v: 1,
    purpose: 'add-passkey',
    sub: 'u-1',
    walletId: 'w-1',
    passkey: { ...assertion, algorithm: -7, publicKey: 'AAAA' },
    prf,
    pin: '493817',
    exp,
    nonce: nonce(),
  },
  { v: 1, purpose: 'remove-passkey', sub: 'u-1', walletId: 'w-1', passkey: assertion, prf, exp, nonce: nonce() },
  { v: 1, purpose: 'reset-pin', sub: 'u-1', walletId: 'w-1', passkey: assertion, prf, newPin: '770145', exp, nonce: nonce() },
];
const envelopes = jsons.map((j) => parseEnvelope(new TextEncoder().encode(JSON.stringify(j))));
const envelopeKinds = envelopes.map((e) => e.purpose + (e.kind ? `/${e.kind}` : ''));
const envelopeMaps = oneMap(envelopes);
envelopes.forEach(disposeEnvelope);

// Blobs: versions 1 to 3 (the PIN's parameters in the header) and version 4 (slots: a PIN's, a recovery code's, a passkey's).
const header = (version) => ({
  version,
  generation: 1,
  walletId: 'w-1',
  ownerUserId: 'u-1',
  kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/k',
  kmsCiphertext: randomBytes(40),
  argon2: { memoryKiB: 19456, iterations: 2, parallelism: 1, salt: randomBytes(16) },
  aeadId: 1,
  nonce: randomBytes(24),
  ciphertext: randomBytes(80),
  state: { failedAttempts: 0, lockedUntilMs: 0 },
  stateMac: randomBytes(32),
});
const slot = (kind, pin, passkey) => ({ kind, id: randomBytes(16), createdAt: Date.now(), pin, passkey, nonce: randomBytes(24), wrapped: randomBytes(48) });
const passkey = { credentialId: randomBytes(16), algorithm: -8, publicKey: randomBytes(32), rpId: 'example.com', origins: ['https://example.com'] };
const v4 = { ...header(4), slots: [slot(1, header(4).argon2), slot(2, undefined), slot(3, undefined, passkey)] };
const blobs = [
  decodeBlob(encodeBlob({ ...header(1), generation: 0 })),
  decodeBlob(encodeBlob(header(2))),
  decodeBlob(encodeBlob(header(3))),
  decodeBlob(encodeBlob(v4)),
  decodeBlob(encodeBlob({ ...v4, slots: [v4.slots[0]] })),
];
const slots = blobs.flatMap((b) => b.slots ?? []);
console.log(
  JSON.stringify({
    envelopes: envelopes.length,
    envelopeKinds,
    envelopeMaps,
    blobs: blobs.map((b) => b.version),
    blobMaps: oneMap(blobs),
    slots: slots.map((s) => s.kind),
    slotMaps: oneMap(slots),
  }),
);

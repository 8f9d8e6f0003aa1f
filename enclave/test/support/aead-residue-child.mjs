// Child process of aead-residue.test.ts (needs the build). Opens and seals messages with `ours` (enclave/dist/aead.js)
// or `noble` (@noble/ciphers' own AEADs), then prints "ready" and waits to be stopped and read from outside.
// `planted`: as `ours`, and then keeps the 32-byte pieces of planted.bin in memory on purpose, the j-th at byte
// offset j mod 4 of a buffer of its own (the search's positive control).
//
// No secret passes through this script's own JavaScript values: each key and each plaintext to seal is read from a
// file straight into a SecretBytes (outside the V8 heap; `readSync` fills it in place), and each plaintext opened is
// written straight from its buffer to a file (`writeSync`) for the parent to check, then zeroed. So whatever the
// parent finds in this process's memory was left there by the AEAD under test.
//
//   node aead-residue-child.mjs <ours|noble|planted> <chacha|xchacha> <dir>
//   dir: messages.json (public: nonces, AAD, sealed messages, the seal nonces), keys.bin (32 bytes a message),
//        to-seal.bin (the plaintexts to seal, their lengths in messages.json); written: opened.bin, sealed.bin
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';

const [mode, cipher, dir] = process.argv.slice(2);
const { SecretBytes } = await import(new URL('../../dist/secret.js', import.meta.url).href);
const aead = await import(new URL('../../dist/aead.js', import.meta.url).href);
const x = cipher === 'xchacha';
const noble = x ? xchacha20poly1305 : chacha20poly1305;
const ours = mode !== 'noble';
const open = ours ? (x ? aead.openXChaCha20Poly1305 : aead.openChaCha20Poly1305) : (k, n, a, s) => noble(k, n, a).decrypt(s);
const seal = ours ? (x ? aead.sealXChaCha20Poly1305 : aead.sealChaCha20Poly1305) : (k, n, a, p) => noble(k, n, a).encrypt(p);

const { messages } = JSON.parse(readFileSync(join(dir, 'messages.json'), 'utf8'));
const bytes = (hex) => new Uint8Array(Buffer.from(hex, 'hex'));
const keys = openSync(join(dir, 'keys.bin'), 'r');
const toSeal = openSync(join(dir, 'to-seal.bin'), 'r');
const opened = openSync(join(dir, 'opened.bin'), 'w');
const sealedOut = openSync(join(dir, 'sealed.bin'), 'w');
let sealAt = 0;
for (const [i, m] of messages.entries()) {
  const key = SecretBytes.alloc(32);
  readSync(keys, key, 0, 32, 32 * i);
  const plaintext = open(key, bytes(m.nonce), bytes(m.aad), bytes(m.sealed));
  writeSync(opened, plaintext);
  plaintext.fill(0);
  const secret = SecretBytes.alloc(m.sealLength);
  readSync(toSeal, secret, 0, m.sealLength, sealAt);
  sealAt += m.sealLength;
  writeSync(sealedOut, seal(key, bytes(m.sealNonce), bytes(m.aad), secret));
  secret.fill(0);
  key.fill(0);
}
for (const fd of [keys, toSeal, opened, sealedOut]) closeSync(fd);
const kept = [];
if (mode === 'planted') {
  const fd = openSync(join(dir, 'planted.bin'), 'r');
  for (let j = 0, got = 1; got > 0; j++) {
    const piece = Buffer.allocUnsafeSlow(40).fill(0);
    got = readSync(fd, piece, j % 4, 32, 32 * j);
    if (got > 0) kept.push(piece);
  }
  closeSync(fd);
}
globalThis.kept = kept;
process.stdout.write('ready\n');
setInterval(() => {}, 60_000);

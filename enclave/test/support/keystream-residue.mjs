// Child process of aead.test.ts (needs the build): opens the sealed messages in the JSON file it is given (made by
// the test in its own process, so that no encryption runs here) with `ours` (enclave/dist/aead.js) or `noble`
// (@noble/ciphers' own AEAD), zeroes every plaintext, then searches its own writable memory (/proc/self/mem, freed
// memory included) for 16 bytes of each message's last-block keystream (ciphertext XOR plaintext: with the
// ciphertext, which the host has, that gives the plaintext back) and each plaintext's last 16 bytes, both given
// as hex (never as the bytes themselves). Prints { keystreamBlocksFound, plaintextTailsFound } as JSON. Linux only.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';

const [mode, file] = process.argv.slice(2);
const { cipher, messages } = JSON.parse(readFileSync(file, 'utf8'));
const { openChaCha20Poly1305, openXChaCha20Poly1305 } = await import(new URL('../../dist/aead.js', import.meta.url).href);
const noble = cipher === 'xchacha' ? xchacha20poly1305 : chacha20poly1305;
const ours = cipher === 'xchacha' ? openXChaCha20Poly1305 : openChaCha20Poly1305;
const bytes = (hex) => new Uint8Array(Buffer.from(hex, 'hex'));

/** Needles by their first 32-bit word (little-endian), as hex. */
const keystream = new Map();
const tails = new Map();
const add = (map, hex) => {
  const word = Buffer.from(hex.slice(0, 8), 'hex').readUInt32LE(0);
  (map.get(word) ?? map.set(word, new Set()).get(word)).add(hex);
};
for (const m of messages) {
  const key = bytes(m.key);
  const opened = mode === 'ours' ? ours(key, bytes(m.nonce), bytes(m.aad), bytes(m.sealed)) : noble(key, bytes(m.nonce), bytes(m.aad)).decrypt(bytes(m.sealed));
  opened.fill(0);
  key.fill(0);
  add(keystream, m.keystream);
  add(tails, m.tail);
}

const found = { keystreamBlocksFound: new Set(), plaintextTailsFound: new Set() };
const fd = openSync('/proc/self/mem', 'r');
const chunk = Buffer.alloc(1 << 22);
for (const line of readFileSync('/proc/self/maps', 'utf8').trim().split('\n')) {
  const [range, perms] = line.split(/\s+/);
  if (!perms.startsWith('rw')) continue;
  const [from, to] = range.split('-').map((h) => parseInt(h, 16));
  for (let at = from; at < to; at += chunk.length - 16) {
    let got = 0;
    try {
      got = readSync(fd, chunk, 0, Math.min(chunk.length, to - at), at);
    } catch {
      break;
    }
    // Every needle is at a multiple of 16 in its buffer (the test's lengths), and buffers start 8-aligned: every 4th offset.
    for (let o = 0; o + 16 <= got; o += 4) {
      const word = chunk.readUInt32LE(o);
      const k = keystream.get(word);
      const t = tails.get(word);
      if (!k && !t) continue;
      const hex = chunk.toString('hex', o, o + 16);
      if (k?.has(hex)) found.keystreamBlocksFound.add(hex);
      if (t?.has(hex)) found.plaintextTailsFound.add(hex);
    }
  }
}
chunk.fill(0);
closeSync(fd);
console.log(JSON.stringify({ keystreamBlocksFound: found.keystreamBlocksFound.size, plaintextTailsFound: found.plaintextTailsFound.size }));

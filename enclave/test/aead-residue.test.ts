/**
 * What opening and sealing leave in the enclave's memory, read from outside the process as an attacker who could
 * read it would (docs/threat-model.md, "Secrets in memory"). A child process (support/aead-residue-child.mjs; needs
 * the build) opens and seals 200 messages with enclave/dist/aead.js, or with @noble/ciphers' own AEADs as the
 * control, and waits; this test stops it (SIGSTOP) and reads all of its writable memory through /proc/<pid>/mem,
 * freed memory included, for:
 *
 * - the keys, and for XChaCha20 the HChaCha20 subkeys (with the nonce and ciphertext, the whole plaintext);
 * - the one-time Poly1305 keys (block 0's keystream: enough to forge a tag for that key and nonce);
 * - the plaintexts, opened and sealed, 16 bytes at a time;
 * - the keystream of every data block (XOR the ciphertext, the plaintext), as bytes and as its 32-bit words boxed
 *   as float64 heap numbers (how V8 keeps numbers outside the small-integer range before it optimises code).
 *
 * The control shows the search finds what noble's AEADs leave (copies of the key and the one-time key on the V8 heap,
 * the last block's keystream, boxed keystream words); aead.ts, whose ChaCha20 and Poly1305 run in WebAssembly
 * memory it zeroes, must leave none of it. Linux only: reading another process's memory needs ptrace rights, which a parent has over its child
 * under the default Yama policy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chacha20, chacha20poly1305, hchacha, xchacha20, xchacha20poly1305 } from '@noble/ciphers/chacha.js';

const MESSAGES = 200;
const CHILD = fileURLToPath(new URL('./support/aead-residue-child.mjs', import.meta.url));

type Kind = 'keys' | 'subkeys' | 'oneTimeKeys' | 'plaintext' | 'keystreamBlocks' | 'keystreamWords';
/**
 * What the search looks for: 16 bytes (`bytes`, found at any byte offset: `skip` is where in it the aligned word
 * the search met starts), or a float64 (`low`: its low word, before the high word the search met).
 */
type Needle = { kind: Kind; id: string; bytes?: Buffer; skip?: number; low?: number };

class Needles {
  /** By a 32-bit word the search meets at a 4-aligned address: one of a byte needle's first four, a float64's high word. */
  readonly byWord = new Map<number, Needle[]>();
  private add(word: number, needle: Needle): void {
    const list = this.byWord.get(word);
    if (list) list.push(needle);
    else this.byWord.set(word, [needle]);
  }
  /** 16 bytes at any alignment: the first 4-aligned word inside them starts 0 to 3 bytes in. */
  bytes(kind: Kind, id: string, bytes: Uint8Array): void {
    const b = Buffer.from(bytes.subarray(0, 16));
    for (let skip = 0; skip < 4; skip++) this.add(b.readUInt32LE(skip), { kind, id, bytes: b, skip });
  }
  /** A keystream word as V8 would box it: its int32 and its uint32 value as float64, when outside the small integers. */
  word(id: string, value: number): void {
    for (const v of new Set([value | 0, value >>> 0])) {
      if (v >= -(2 ** 30) && v < 2 ** 30) continue;
      const f = Buffer.alloc(8);
      f.writeDoubleLE(v);
      this.add(f.readUInt32LE(4), { kind: 'keystreamWords', id, low: f.readUInt32LE(0) });
    }
  }
}

/** HChaCha20 of a key and a 24-byte nonce's first 16 bytes: XChaCha20's subkey (noble's, to be independent of ours). */
function subkeyOf(key: Uint8Array, nonce: Uint8Array): Uint8Array {
  const u32 = (b: Uint8Array): Uint32Array => new Uint32Array(new Uint8Array(b).buffer);
  const subkey = new Uint32Array(8);
  hchacha(u32(Buffer.from('expand 32-byte k')), u32(key), u32(nonce.subarray(0, 16)), subkey);
  return new Uint8Array(subkey.buffer);
}

/** Every needle of one message: its key (and subkey), its plaintext, its data blocks' keystream. */
function addMessage(needles: Needles, id: string, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ciphertext: Uint8Array): void {
  needles.bytes('keys', id, key);
  needles.bytes('keys', id, key.subarray(16));
  const oneTimeKey = (nonce.length === 24 ? xchacha20 : chacha20)(key, nonce, new Uint8Array(32), undefined, 0);
  needles.bytes('oneTimeKeys', id, oneTimeKey);
  needles.bytes('oneTimeKeys', id, oneTimeKey.subarray(16));
  if (nonce.length === 24) needles.bytes('subkeys', id, subkeyOf(key, nonce));
  for (let at = 0; at + 16 <= plaintext.length; at += 16) needles.bytes('plaintext', id, plaintext.subarray(at, at + 16));
  const keystream = ciphertext.map((c, i) => c ^ plaintext[i]!);
  for (let block = 0; block < keystream.length; block += 64) {
    const bytes = keystream.subarray(block, block + 64);
    if (bytes.length >= 16) needles.bytes('keystreamBlocks', id, bytes);
    for (let w = 0; w + 4 <= bytes.length; w += 4) needles.word(id, Buffer.from(bytes.buffer, bytes.byteOffset + w, 4).readUInt32LE(0));
  }
}

/** The distinct messages each kind of needle was found for, in all writable memory of the stopped process `pid`. */
function search(pid: number, needles: Needles): Record<Kind, number> {
  const found: Record<Kind, Set<string>> = {
    keys: new Set(),
    subkeys: new Set(),
    oneTimeKeys: new Set(),
    plaintext: new Set(),
    keystreamBlocks: new Set(),
    keystreamWords: new Set(),
  };
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  const chunk = Buffer.alloc(1 << 22);
  const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length / 4);
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);
      if (!m) continue;
      const from = Number.parseInt(m[1]!, 16);
      const to = Number.parseInt(m[2]!, 16);
      // Chunks overlap by 32 bytes, so a needle across a chunk's end is seen whole in the next one.
      for (let at = from; at < to; at += chunk.length - 32) {
        let got = 0;
        try {
          got = readSync(fd, chunk, 0, Math.min(chunk.length, to - at), at);
        } catch {
          break; // a guard page, or a mapping that went away
        }
        const n = Math.floor(got / 4);
        for (let i = 0; i < n; i++) {
          const list = needles.byWord.get(words[i]!);
          if (!list) continue;
          for (const needle of list) {
            if (needle.bytes) {
              const start = 4 * i - needle.skip!;
              if (start >= 0 && start + 16 <= got && chunk.subarray(start, start + 16).equals(needle.bytes)) found[needle.kind].add(needle.id);
            } else if (i > 0 && words[i - 1] === needle.low) {
              found[needle.kind].add(needle.id);
            }
          }
        }
      }
    }
  } finally {
    closeSync(fd);
    chunk.fill(0);
  }
  return Object.fromEntries(Object.entries(found).map(([k, v]) => [k, v.size])) as Record<Kind, number>;
}

/** Runs the child over `dir`, stops it once it is done, and searches it. */
async function runChild(mode: 'ours' | 'noble' | 'planted', cipher: string, dir: string, needles: Needles): Promise<Record<Kind, number>> {
  const child: ChildProcess = spawn(process.execPath, [CHILD, mode, cipher, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`the child exited (${code}): ${stderr}`)));
    });
    child.kill('SIGSTOP');
    return search(child.pid!, needles);
  } finally {
    child.kill('SIGKILL');
  }
}

const residueTest = process.platform === 'linux' ? test : test.skip;
residueTest.each(['chacha', 'xchacha'] as const)(
  '%s: after 200 opens and 200 seals, no key, subkey, plaintext or keystream is left in memory; noble’s AEAD leaves them',
  async (cipher) => {
    const dir = mkdtempSync(join(tmpdir(), 'aead-residue-'));
    try {
      const x = cipher === 'xchacha';
      const noble = x ? xchacha20poly1305 : chacha20poly1305;
      const stream = x ? xchacha20 : chacha20;
      const nonceLength = x ? 24 : 12;
      const needles = new Needles();
      const keys: Uint8Array[] = [];
      const toSeal: Uint8Array[] = [];
      const expectedOpened: Uint8Array[] = [];
      const messages = Array.from({ length: MESSAGES }, (_, i) => {
        // Lengths across block edges: a 24-word phrase's entropy, a seed, PINs with their binding, a blob's secret.
        const length = [32, 64, 65, 120, 176, 200][i % 6]!;
        const key = new Uint8Array(randomBytes(32));
        const nonce = new Uint8Array(randomBytes(nonceLength));
        const sealNonce = new Uint8Array(randomBytes(nonceLength));
        const aad = randomBytes(12);
        const plaintext = new Uint8Array(randomBytes(length));
        const sealed = noble(key, nonce, aad).encrypt(plaintext);
        const secret = new Uint8Array(randomBytes(length + 3));
        keys.push(key);
        toSeal.push(secret);
        expectedOpened.push(plaintext);
        addMessage(needles, `${i}`, key, nonce, plaintext, sealed.subarray(0, length));
        addMessage(needles, `${i}`, key, sealNonce, secret, stream(key, sealNonce, secret, undefined, 1));
        const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
        return { nonce: hex(nonce), aad: hex(aad), sealed: hex(sealed), sealNonce: hex(sealNonce), sealLength: secret.length };
      });
      // What the planted control puts in memory: the keys of messages 0–3, the subkeys of 4–7, plaintext of 8–11.
      const planted = [0, 1, 2, 3].map((i) => keys[i]!);
      if (x) planted.push(...[4, 5, 6, 7].map((i) => subkeyOf(keys[i]!, Buffer.from(messages[i]!.nonce, 'hex'))));
      planted.push(...[8, 9, 10, 11].map((i) => expectedOpened[i]!.subarray(0, 32)));
      writeFileSync(join(dir, 'messages.json'), JSON.stringify({ messages }));
      writeFileSync(join(dir, 'keys.bin'), Buffer.concat(keys));
      writeFileSync(join(dir, 'to-seal.bin'), Buffer.concat(toSeal));

      const check = (): void => {
        // What the child opened and sealed is right: the search is of a child that did the work.
        expect(readFileSync(join(dir, 'opened.bin')).equals(Buffer.concat(expectedOpened))).toBe(true);
        const sealed = readFileSync(join(dir, 'sealed.bin'));
        let at = 0;
        messages.forEach((m, i) => {
          const one = sealed.subarray(at, (at += m.sealLength + 16));
          expect(Buffer.from(noble(keys[i]!, Buffer.from(m.sealNonce, 'hex'), Buffer.from(m.aad, 'hex')).decrypt(one)).equals(Buffer.from(toSeal[i]!))).toBe(
            true,
          );
        });
      };

      const control = await runChild('noble', cipher, dir, needles);
      check();
      // The control: in trials the keys and one-time keys of 126–200 messages of 200, and from run to run 0–76 keystream blocks, 21–32
      // plaintexts, 5–70 boxed keystream words (fewer on Node 24, whose compilers optimise noble's ChaCha20 sooner).
      expect(control.keys).toBeGreaterThan(MESSAGES / 4);
      expect(control.oneTimeKeys).toBeGreaterThan(MESSAGES / 4);
      expect(control.keystreamBlocks + control.plaintext + control.keystreamWords).toBeGreaterThan(0);

      const ours = await runChild('ours', cipher, dir, needles);
      check();
      expect(ours).toEqual({ keys: 0, subkeys: 0, oneTimeKeys: 0, plaintext: 0, keystreamBlocks: 0, keystreamWords: 0 });

      // A control for the search of that same child: with four keys, four subkeys and four plaintext pieces put in
      // its memory on purpose, at each byte offset 0–3, exactly those are found.
      writeFileSync(join(dir, 'planted.bin'), Buffer.concat(planted));
      const ofPlanted = await runChild('planted', cipher, dir, needles);
      check();
      expect(ofPlanted).toEqual({ keys: 4, subkeys: x ? 4 : 0, oneTimeKeys: 0, plaintext: 4, keystreamBlocks: 0, keystreamWords: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);

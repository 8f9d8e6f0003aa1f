/** The nonces of PIN envelopes seen within their lifetime: each is accepted once. */
import * as crypto from 'node:crypto';
import { createHash, randomFillSync } from 'node:crypto';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { MAX_ID_LENGTH } from '@enclave-wallet/proto/ids';

/** Clock skew tolerated between client and enclave, on top of the lifetime. */
export const CLOCK_SKEW_S = 30;

/** The most live nonces the enclave holds, all users together. */
export const REPLAY_CACHE_ENTRIES = 100_000;

/** The most live nonces one user may hold by default (ENCLAVE_ENVELOPES_PER_USER, docs/configuration.md). */
export const DEFAULT_ENVELOPES_PER_USER = 1_000;

/** Slots a table starts with and never shrinks below. */
const MIN_SLOTS = 1024;
/** A table doubles past this share of its slots in use, and halves below an eighth (a sweep's check). */
const GROW_AT = 0.75;
/** The most a full cache may fill its largest table (linear probing stays short up to about this). */
const MAX_LOAD = 0.8;

/** A nonce as the envelope's parser accepts it. */
const NONCE = /^[0-9a-f]{32}$/;
/** The tags' key, and their domains (a nonce's place; a user's place and identity). */
const KEY_BYTES = 32;
const NONCE_DOMAIN = 0x6e;
const USER_DOMAIN = 0x75;
/** `crypto.hash` (Node 20.12 and later), else undefined. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;
/** A user's first nonce: its count. */
const ONE = new Uint32Array([1]);

const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));

/**
 * An open-addressed table (linear probing, deletion by backward shift) of fixed-size keys, each `width` 32-bit
 * words, with `values` 32-bit values a key: in typed arrays, so an entry costs the same few bytes whoever made it
 * and holds no JavaScript object. Each key's slot comes from `hash`, a keyed hash the caller computes (its home slot
 * is `hash & mask`), kept beside the key so that moves and resizes need not compute it again. A slot whose first
 * value is 0 is empty: callers never store 0 there. Exported for its tests.
 */
export class Table {
  slots: number;
  used = 0;
  private keys: Uint32Array;
  private hashes: Uint32Array;
  /** `values` words per slot. */
  vals: Uint32Array;

  constructor(
    private readonly width: number,
    private readonly values: number,
    slots = MIN_SLOTS,
  ) {
    this.slots = slots;
    this.keys = new Uint32Array(slots * width);
    this.hashes = new Uint32Array(slots);
    this.vals = new Uint32Array(slots * values);
  }

  /** Whether slot `i` holds an entry. */
  holds(i: number): boolean {
    return this.vals[i * this.values] !== 0;
  }

  /** Value `v` of slot `i`. */
  value(i: number, v: number): number {
    return this.vals[i * this.values + v]!;
  }

  setValue(i: number, v: number, to: number): void {
    this.vals[i * this.values + v] = to;
  }

  /** The slot holding `key` (words `key[from..from+width)`), or −1. */
  find(key: Uint32Array, from: number, hash: number): number {
    const mask = this.slots - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      if (!this.holds(i)) return -1;
      if (this.hashes[i] === hash && this.sameKey(i, key, from)) return i;
    }
  }

  /** Puts a key known to be absent, with `vals[at..at+values)`; returns its slot. The caller keeps `used` under the slots. */
  insert(key: Uint32Array, from: number, hash: number, vals: Uint32Array, at: number): number {
    const mask = this.slots - 1;
    let i = hash & mask;
    while (this.holds(i)) i = (i + 1) & mask;
    for (let w = 0; w < this.width; w++) this.keys[i * this.width + w] = key[from + w]!;
    for (let v = 0; v < this.values; v++) this.vals[i * this.values + v] = vals[at + v]!;
    this.hashes[i] = hash;
    this.used++;
    return i;
  }

  /** Empties slot `i`, moving back the entries after it that would no longer be found (no tombstones). */
  removeAt(i: number): void {
    const mask = this.slots - 1;
    for (let j = (i + 1) & mask; this.holds(j); j = (j + 1) & mask) {
      const home = this.hashes[j]! & mask;
      // The entry at j stays unless i lies cyclically in [home, j): then i is on its probe path, and it moves there.
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      this.copy(j, i);
      i = j;
    }
    this.keys.fill(0, i * this.width, (i + 1) * this.width);
    this.vals.fill(0, i * this.values, (i + 1) * this.values);
    this.hashes[i] = 0;
    this.used--;
  }

  /** Moves every entry into a table of `slots` slots (a power of two above `used`). */
  resize(slots: number): void {
    const { keys, hashes, vals, slots: before } = this;
    this.slots = slots;
    this.keys = new Uint32Array(slots * this.width);
    this.hashes = new Uint32Array(slots);
    this.vals = new Uint32Array(slots * this.values);
    this.used = 0;
    for (let i = 0; i < before; i++) if (vals[i * this.values] !== 0) this.insert(keys, i * this.width, hashes[i]!, vals, i * this.values);
  }

  /** The bytes this table's arrays take. */
  get bytes(): number {
    return this.keys.byteLength + this.hashes.byteLength + this.vals.byteLength;
  }

  private sameKey(i: number, key: Uint32Array, from: number): boolean {
    for (let w = 0; w < this.width; w++) if (this.keys[i * this.width + w] !== key[from + w]) return false;
    return true;
  }

  private copy(from: number, to: number): void {
    this.keys.copyWithin(to * this.width, from * this.width, (from + 1) * this.width);
    this.vals.copyWithin(to * this.values, from * this.values, (from + 1) * this.values);
    this.hashes[to] = this.hashes[from]!;
  }
}

/**
 * Nonces seen within their lifetime. Bounded: refuses new envelopes rather
 * than forget live nonces; and no one user may hold more than `perUser` of
 * the live entries, so one account cannot fill the cache for everyone.
 *
 * Two tables of fixed-size entries in typed arrays (`Table`): the nonces (the
 * 16 bytes, the expiry, the user's tag), and the users with live nonces (a
 * tag, and how many they hold). A user is kept as a tag (12 bytes of SHA-256
 * over a key made at start-up and the user's id as UTF-16 code units), never as
 * the id itself; two users whose tags collided (about one chance in 10^19 among
 * 100,000 users) would share one allowance, nothing more. Both tables place entries by a hash
 * under the same key, so no client can choose nonces or ids that crowd one
 * part of a table. A full cache of 100,000 nonces takes 4.5 MiB (131,072
 * slots of 36 bytes), 6.5 with 100,000 users, however long their ids (while
 * a table doubles, its old arrays live beside the new: 6.75 MiB for a moment at
 * the last doubling); an idle one 52 KiB. Until 2026-12-06 it was a `Set` of the nonces' strings and a map
 * of the users' ids: 93 to 122 bytes a nonce with short ids (measured), and
 * about 40 MiB in all with 100,000 users of 256-character ids (the ids' strings
 * alone 26 MiB).
 *
 * Expired entries are dropped by a pass over the nonces' table at most once
 * per second of the clock, and only when the earliest expiry held is due.
 *
 * The clock only goes forward here: a `now` earlier than one seen before is
 * taken as that one (`monotonic`), so a wall clock set back cannot make an
 * envelope whose nonce was already dropped look unexpired again.
 */
export class ReplayCache {
  /** Keys: the nonce's 4 words. Values: its expiry (seconds, never 0), and its user's tag (hash word, 2 key words). */
  private readonly nonces = new Table(4, 4);
  /** Keys: a user's tag's 2 key words (its hash word places it). Values: how many live nonces it holds. */
  private readonly users = new Table(2, 1);
  /**
   * The tags' input: this cache's key (made at start-up; it never leaves the process and keys the nonces' and users'
   * places and the users' identities), a domain byte, and room for the longest user id (256 UTF-16 code units, kept
   * as they are). Memory of its own (`Buffer.alloc` is never carved from Node's shared pool), filled in place.
   */
  private readonly input = randomFillSync(Buffer.alloc(KEY_BYTES + 1 + 2 * MAX_ID_LENGTH), 0, KEY_BYTES);
  private readonly maxSlots: number;
  /** A nonce's words, then its values (a claim's, an expiry's). */
  private readonly key = new Uint32Array(4);
  private readonly entry = new Uint32Array(4);
  /** A tag (a nonce's place, or a user's place and key words). */
  private readonly user = new Uint32Array(3);
  private sweptAt = -Infinity;
  private latest = -Infinity;
  /** No entry expires before this (seconds): a pass with nothing due is skipped. */
  private earliest = Infinity;

  constructor(
    private readonly maxEntries = REPLAY_CACHE_ENTRIES,
    private readonly perUser = DEFAULT_ENVELOPES_PER_USER,
  ) {
    this.maxSlots = Math.max(MIN_SLOTS, nextPowerOfTwo(Math.ceil(maxEntries / MAX_LOAD)));
  }

  /** `nowSeconds`, or the latest time this cache has seen if that is later: the clock every check of an envelope uses. */
  monotonic(nowSeconds: number): number {
    if (nowSeconds > this.latest) this.latest = nowSeconds;
    return this.latest;
  }

  /**
   * Records `nonce` (32 lowercase hex digits) of user `sub` until `exp` (whole seconds); false when it was already
   * seen, by anyone.
   * @throws {EnclaveWalletError} RATE_LIMITED when the cache, or the user's share of it, is full; ENVELOPE_INVALID
   *   for a nonce or an expiry of another form (the envelope's parser refuses them before)
   */
  claim(nonce: string, exp: number, nowSeconds: number, sub = ''): boolean {
    if (!NONCE.test(nonce)) throw new EnclaveWalletError('ENVELOPE_INVALID', 'nonce must be 16 bytes of lowercase hex');
    if (!Number.isInteger(exp) || exp < 1 || exp > 0xffff_ffff) throw new EnclaveWalletError('ENVELOPE_INVALID', 'exp is out of range');
    if (sub.length > MAX_ID_LENGTH) throw new EnclaveWalletError('VALIDATION_FAILED', 'userId is too long');
    const now = this.monotonic(nowSeconds);
    if (now !== this.sweptAt) this.expire(now);
    const { key, entry, nonces, users } = this;
    for (let w = 0; w < 4; w++) key[w] = parseInt(nonce.slice(w * 8, w * 8 + 8), 16);
    const place = this.tag(NONCE_DOMAIN, key, this.user)[0]!;
    if (nonces.find(key, 0, place) >= 0) return false;
    if (nonces.used >= this.maxEntries) throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight; retry shortly', { retryAfter: 5 });
    const user = this.tag(USER_DOMAIN, sub, this.user);
    let at = users.find(user, 1, user[0]!);
    if (at >= 0 && users.value(at, 0) >= this.perUser)
      throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight for this user; retry shortly', { retryAfter: 5 });
    // Both tables made big enough first: nothing changes unless all of it does (a failed allocation leaves no count).
    if (this.makeRoom(users)) at = users.find(user, 1, user[0]!);
    this.makeRoom(nonces);
    if (at >= 0) users.setValue(at, 0, users.value(at, 0) + 1);
    else users.insert(user, 1, user[0]!, ONE, 0);
    entry[0] = exp;
    entry.set(user, 1);
    nonces.insert(key, 0, place, entry, 0);
    if (exp < this.earliest) this.earliest = exp;
    return true;
  }

  get size(): number {
    return this.nonces.used;
  }

  /** Live nonces `sub` holds. */
  heldBy(sub: string): number {
    if (sub.length > MAX_ID_LENGTH) return 0;
    const user = this.tag(USER_DOMAIN, sub, new Uint32Array(3));
    const at = this.users.find(user, 1, user[0]!);
    return at >= 0 ? this.users.value(at, 0) : 0;
  }

  /** The slots of each table and the bytes of their arrays (tests, and the memory figures in the docs). */
  get footprint(): { nonceSlots: number; userSlots: number; bytes: number } {
    return { nonceSlots: this.nonces.slots, userSlots: this.users.slots, bytes: this.nonces.bytes + this.users.bytes };
  }

  /**
   * Three words of SHA-256 over this cache's key, a domain letter and `data` (a secret-prefix hash: its outputs
   * never leave the process, so nothing can be extended), into `out`: a place, then two more. `crypto.hash` is one
   * call with no object to finalise; Node before 20.12 has only `createHash`.
   */
  private tag(domain: number, data: string | Uint32Array, out: Uint32Array): Uint32Array {
    const input = this.input;
    input[KEY_BYTES] = domain;
    const length =
      typeof data === 'string'
        ? input.write(data, KEY_BYTES + 1, 'utf16le')
        : (input.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), KEY_BYTES + 1), data.byteLength);
    const message = input.subarray(0, KEY_BYTES + 1 + length);
    const digest = oneShot ? oneShot('sha256', message, 'buffer') : createHash('sha256').update(message).digest();
    for (let w = 0; w < 3; w++) out[w] = digest.readUInt32LE(w * 4);
    input.fill(0, KEY_BYTES + 1, KEY_BYTES + 1 + length);
    return out;
  }

  /** Doubles `table` before an insert would take it past GROW_AT, up to the size a full cache needs; true if it did. */
  private makeRoom(table: Table): boolean {
    if (table.used + 1 <= table.slots * GROW_AT || table.slots >= this.maxSlots) return false;
    table.resize(table.slots * 2);
    return true;
  }

  /** Drops every entry whose expiry, with the clock skew tolerated, has passed; then fits the tables to what is left. */
  private expire(nowSeconds: number): void {
    this.sweptAt = nowSeconds;
    const cutoff = nowSeconds - CLOCK_SKEW_S;
    if (this.earliest >= cutoff) return;
    const { nonces, users, entry } = this;
    let earliest = Infinity;
    for (let i = 0; i < nonces.slots;) {
      const exp = nonces.value(i, 0);
      if (exp === 0 || exp >= cutoff) {
        if (exp !== 0 && exp < earliest) earliest = exp;
        i++;
        continue;
      }
      // Its user's count goes down; the user's record goes with its last nonce.
      for (let v = 1; v < 4; v++) entry[v] = nonces.value(i, v);
      const at = users.find(entry, 2, entry[1]!);
      if (at >= 0) {
        const held = users.value(at, 0) - 1;
        if (held === 0) users.removeAt(at);
        else users.setValue(at, 0, held);
      }
      nonces.removeAt(i); // slot i may now hold an entry from further on: looked at again
    }
    this.earliest = earliest;
    for (const table of [nonces, users]) {
      let slots = table.slots;
      while (slots > MIN_SLOTS && table.used < slots / 8) slots /= 2;
      if (slots !== table.slots) table.resize(slots);
    }
  }
}

/**
 * Which sessions are revoked (logout, or a refresh token used twice), as this
 * host last read it from the session store. An access token names its session
 * (`sid`); a request is answered from what this host read within the last
 * SESSION_CHECK_MS, so a revocation written by any host is seen by every
 * host within that time plus one table read, and a session that keeps making
 * requests costs at most one read per SESSION_CHECK_MS − SESSION_READ_AHEAD_MS
 * per host (docs/api.md#sessions).
 *
 * The reads are batched: the sessions that fall due in one turn of the event
 * loop are read together, and with them every session this host answered from
 * memory since its last read that would fall due within SESSION_READ_AHEAD_MS.
 * Sessions that log in together then stay read together: one call for up to
 * SESSIONS_PER_READ of them instead of one each, all falling due at the same
 * moment (docs/performance.md, nineteenth look). Each call answers its own
 * sessions as soon as it ends, and a session it could not read fails only the
 * requests waiting for that session; one read ahead that failed is not read
 * ahead again, only when it falls due.
 */
import { SESSIONS_PER_READ } from '../storage/sessions.js';

/** How long a "not revoked" answer read from the table is trusted (under 5 s, the bound the API promises). */
export const SESSION_CHECK_MS = 4_000;
/** A read also reads the sessions in use that would fall due within this long (so at most one read per 3 s each). */
export const SESSION_READ_AHEAD_MS = 1_000;
/** The sessions to read ahead are looked for at most this often (a look walks the sessions read 3–4 s ago). */
export const READ_AHEAD_LOOK_MS = 100;
/** Sessions remembered, at most (least recently read dropped first); as many revoked ones besides. */
export const SESSIONS_CACHED = 10_000;

/** What one table read of some sessions (at most SESSIONS_PER_READ) found. */
export interface RevokedRead {
  /** The sessions read and found revoked; every other session asked for and not in `unread` is not. */
  revoked: ReadonlySet<string>;
  /** Sessions the table did not answer for (throttled), and the error their requests get. */
  unread?: { ids: readonly string[]; error: unknown };
}
export type ReadRevoked = (sessionIds: readonly string[]) => Promise<RevokedRead>;

interface Fresh {
  /** When the read that said "not revoked" started. */
  readAt: number;
  /** Answered from memory since that read: worth reading ahead. */
  used: boolean;
  /** A read ahead of it failed: it is read when it falls due, not ahead again. */
  noReadAhead?: true;
}

interface Waiter {
  resolve: (revoked: boolean) => void;
  reject: (err: unknown) => void;
}

export class RevocationCache {
  /** Sessions read as not revoked, in the order their reads ended (about the order they started). */
  private readonly fresh = new Map<string, Fresh>();
  /** Sessions known revoked: final, never read again. */
  private readonly revokedIds = new Set<string>();
  /** Answers in flight, shared by the requests that arrive meanwhile. */
  private readonly reading = new Map<string, Promise<boolean>>();
  /** How to settle each answer in flight. */
  private readonly waiters = new Map<string, Waiter>();
  /** Sessions due, waiting for the read that starts once this turn of the event loop is over. */
  private queued: string[] | undefined;
  private lastLook = -Infinity;

  constructor(
    private readonly read: ReadRevoked,
    private readonly now: () => number = Date.now,
    private readonly maxAgeMs: number = SESSION_CHECK_MS,
    private readonly aheadMs: number = SESSION_READ_AHEAD_MS,
  ) {}

  /** Whether the session is revoked: from memory when read within `maxAgeMs` (or known revoked), else from a table read. */
  revoked(sessionId: string): Promise<boolean> {
    if (this.revokedIds.has(sessionId)) return Promise.resolve(true);
    const known = this.fresh.get(sessionId);
    if (known && this.now() - known.readAt < this.maxAgeMs) {
      known.used = true;
      return Promise.resolve(false);
    }
    const inFlight = this.reading.get(sessionId);
    if (inFlight) return inFlight;
    if (!this.queued) {
      this.queued = [];
      setImmediate(() => this.start());
    }
    this.queued.push(sessionId);
    return this.track(sessionId);
  }

  /** This host revoked the session: known here at once. */
  markRevoked(sessionId: string): void {
    this.remember(sessionId, true, this.now());
  }

  /** The answer for a session about to be read, shared until it settles. */
  private track(sessionId: string): Promise<boolean> {
    const answer = new Promise<boolean>((resolve, reject) => this.waiters.set(sessionId, { resolve, reject }));
    const forget = (): void => {
      if (this.reading.get(sessionId) === answer) this.reading.delete(sessionId);
    };
    answer.then(forget, forget); // also marks a rejection nobody awaits (a session read ahead) as handled
    this.reading.set(sessionId, answer);
    return answer;
  }

  private start(): void {
    const ids = this.queued ?? [];
    this.queued = undefined;
    const t = this.now();
    if (t - this.lastLook >= READ_AHEAD_LOOK_MS) {
      this.lastLook = t;
      for (const [id, entry] of this.fresh) {
        const age = t - entry.readAt;
        if (age >= this.maxAgeMs) {
          this.fresh.delete(id); // as good as never read: the next request reads it
          continue;
        }
        // In read order, so the rest are younger (near enough: a read that ended late is only read later).
        if (age < this.maxAgeMs - this.aheadMs) break;
        if (entry.used && !entry.noReadAhead && !this.reading.has(id)) {
          ids.push(id);
          void this.track(id);
        }
      }
    }
    for (let i = 0; i < ids.length; i += SESSIONS_PER_READ) void this.readPart(ids.slice(i, i + SESSIONS_PER_READ));
  }

  /** One call: its sessions are answered when it ends, whatever the other calls of the same read do. */
  private async readPart(ids: string[]): Promise<void> {
    // The age counts from the read's start: the table may have changed while it was under way.
    const startedAt = this.now();
    try {
      const found = await this.read(ids);
      const unread = new Set(found.unread?.ids ?? []);
      for (const id of ids) {
        if (unread.has(id)) {
          this.fail(id, found.unread!.error);
          continue;
        }
        const revoked = found.revoked.has(id);
        this.remember(id, revoked, startedAt);
        this.waiter(id)?.resolve(revoked || this.revokedIds.has(id)); // this read's own answer, or revoked here meanwhile
      }
    } catch (err) {
      for (const id of ids) this.fail(id, err); // every request of the call is answered, whatever went wrong
    }
  }

  /** The session's read failed: its requests fail, and it is read when it falls due, not ahead. */
  private fail(sessionId: string, err: unknown): void {
    const waiter = this.waiter(sessionId);
    if (!waiter) return; // answered already
    const entry = this.fresh.get(sessionId);
    if (entry) entry.noReadAhead = true;
    waiter.reject(err);
  }

  /** How to settle the session's answer in flight, once. */
  private waiter(sessionId: string): Waiter | undefined {
    const waiter = this.waiters.get(sessionId);
    this.waiters.delete(sessionId);
    return waiter;
  }

  private remember(sessionId: string, revoked: boolean, readAt: number): void {
    this.fresh.delete(sessionId);
    if (revoked) {
      this.revokedIds.add(sessionId);
      if (this.revokedIds.size > SESSIONS_CACHED) this.revokedIds.delete(this.revokedIds.values().next().value!);
    } else if (!this.revokedIds.has(sessionId)) {
      // A read that started before this host revoked the session must not bring it back.
      this.fresh.set(sessionId, { readAt, used: false });
      if (this.fresh.size > SESSIONS_CACHED) this.fresh.delete(this.fresh.keys().next().value!);
    }
  }
}

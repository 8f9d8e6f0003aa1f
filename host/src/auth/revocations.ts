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
 * moment (docs/performance.md, nineteenth look).
 */
import { SESSIONS_PER_READ } from '../storage/sessions.js';

/** How long a "not revoked" answer read from the table is trusted (under 5 s, the bound the API promises). */
export const SESSION_CHECK_MS = 4_000;
/** A read also reads the sessions in use that would fall due within this long (so at most one read per 3 s each). */
export const SESSION_READ_AHEAD_MS = 1_000;
/** Sessions remembered, at most (least recently read dropped first); as many revoked ones besides. */
export const SESSIONS_CACHED = 10_000;

/** The table read: of these sessions (at most SESSIONS_PER_READ), the ids of those revoked. */
export type ReadRevoked = (sessionIds: readonly string[]) => Promise<ReadonlySet<string>>;

interface Fresh {
  /** When the read that said "not revoked" started. */
  readAt: number;
  /** Answered from memory since that read: worth reading ahead. */
  used: boolean;
}

/** The next read, gathering the sessions that fall due before it starts. */
interface Pending {
  ids: string[];
  /** Settles when every part of the read has: each id's error, if its part failed. */
  done: Promise<Map<string, unknown>>;
  settle: (failed: Map<string, unknown>) => void;
}

export class RevocationCache {
  /** Sessions read as not revoked, in the order their reads ended (about the order they started). */
  private readonly fresh = new Map<string, Fresh>();
  /** Sessions known revoked: final, never read again. */
  private readonly revokedIds = new Set<string>();
  /** Answers in flight, shared by the requests that arrive meanwhile. */
  private readonly reading = new Map<string, Promise<boolean>>();
  private pending: Pending | undefined;

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
    return this.reading.get(sessionId) ?? this.enqueue(sessionId);
  }

  /** This host revoked the session: known here at once. */
  markRevoked(sessionId: string): void {
    this.remember(sessionId, true, this.now());
  }

  /** Joins the next read, which starts once this turn of the event loop is over. */
  private enqueue(sessionId: string): Promise<boolean> {
    if (!this.pending) {
      let settle!: Pending['settle'];
      const done = new Promise<Map<string, unknown>>((resolve) => (settle = resolve));
      const pending: Pending = { ids: [], done, settle };
      this.pending = pending;
      setImmediate(() => void this.start(pending));
    }
    this.pending.ids.push(sessionId);
    return this.track(sessionId, this.pending.done);
  }

  /** The answer for one session of a read, shared until it settles. */
  private track(sessionId: string, done: Promise<Map<string, unknown>>): Promise<boolean> {
    const answer = done.then((failed) => {
      if (failed.has(sessionId)) throw failed.get(sessionId);
      return this.revokedIds.has(sessionId);
    });
    const forget = (): void => {
      if (this.reading.get(sessionId) === answer) this.reading.delete(sessionId);
    };
    answer.then(forget, forget); // also marks a rejection nobody awaits (a session read ahead) as handled
    this.reading.set(sessionId, answer);
    return answer;
  }

  private async start(pending: Pending): Promise<void> {
    this.pending = undefined;
    const ids = pending.ids;
    const t = this.now();
    for (const [id, entry] of this.fresh) {
      const age = t - entry.readAt;
      if (age >= this.maxAgeMs) {
        this.fresh.delete(id); // as good as never read: the next request reads it
        continue;
      }
      // In read order, so the rest are younger (near enough: a read that ended late is only read later).
      if (age < this.maxAgeMs - this.aheadMs) break;
      if (entry.used && !this.reading.has(id)) {
        ids.push(id);
        void this.track(id, pending.done);
      }
    }
    const failed = new Map<string, unknown>();
    const parts: string[][] = [];
    for (let i = 0; i < ids.length; i += SESSIONS_PER_READ) parts.push(ids.slice(i, i + SESSIONS_PER_READ));
    await Promise.all(
      parts.map(async (part) => {
        // The age counts from the read's start: the table may have changed while it was under way.
        const startedAt = this.now();
        try {
          const revoked = await this.read(part);
          for (const id of part) this.remember(id, revoked.has(id), startedAt);
        } catch (err) {
          for (const id of part) failed.set(id, err);
        }
      }),
    );
    pending.settle(failed);
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

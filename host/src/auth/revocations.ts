/**
 * Which sessions are revoked (logout, or a refresh token used twice), as this
 * host last read it from the session store. An access token names its session
 * (`sid`); a request is answered from what this host read within the last
 * SESSION_CHECK_MS, so a revocation written by any host is seen by every
 * host within that time plus one table read, and a session that keeps making
 * requests costs at most one read per SESSION_CHECK_MS per host
 * (docs/api.md#sessions).
 */

/** How long a "not revoked" answer read from the table is trusted (under 5 s, the bound the API promises). */
export const SESSION_CHECK_MS = 4_000;
/** Sessions remembered, at most (least recently read dropped first). */
export const SESSIONS_CACHED = 10_000;

export class RevocationCache {
  /** sid → revoked, and when the read that said so started. Revoked is final. */
  private readonly entries = new Map<string, { revoked: boolean; readAt: number }>();
  /** Reads in flight, shared by the requests that arrive meanwhile. */
  private readonly reading = new Map<string, Promise<boolean>>();

  constructor(
    private readonly read: (sessionId: string) => Promise<boolean>,
    private readonly now: () => number = Date.now,
    private readonly maxAgeMs: number = SESSION_CHECK_MS,
  ) {}

  /** Whether the session is revoked: from memory when read within `maxAgeMs` (or known revoked), else one table read. */
  revoked(sessionId: string): Promise<boolean> {
    const known = this.entries.get(sessionId);
    if (known && (known.revoked || this.now() - known.readAt < this.maxAgeMs)) return Promise.resolve(known.revoked);
    let pending = this.reading.get(sessionId);
    if (!pending) {
      // The age counts from the read's start: the table may have changed while it was under way.
      const startedAt = this.now();
      pending = this.read(sessionId)
        .then((revoked) => {
          this.remember(sessionId, revoked, startedAt);
          return this.entries.get(sessionId)?.revoked ?? revoked;
        })
        .finally(() => this.reading.delete(sessionId));
      this.reading.set(sessionId, pending);
    }
    return pending;
  }

  /** This host revoked the session: known here at once. */
  markRevoked(sessionId: string): void {
    this.remember(sessionId, true, this.now());
  }

  private remember(sessionId: string, revoked: boolean, readAt: number): void {
    // A read that started before this host revoked the session must not bring it back.
    const wasRevoked = this.entries.get(sessionId)?.revoked ?? false;
    this.entries.delete(sessionId);
    this.entries.set(sessionId, { revoked: revoked || wasRevoked, readAt });
    if (this.entries.size > SESSIONS_CACHED) this.entries.delete(this.entries.keys().next().value!);
  }
}

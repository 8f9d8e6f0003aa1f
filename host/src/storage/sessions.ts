/**
 * Refresh-token sessions: each refresh token is stored by its hash and used
 * once; a token used twice revokes its whole family (docs/storage.md).
 */
import { BatchGetItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unavailable, type Table } from './table.js';
import type { UserId } from '@enclave-wallet/proto/ids';
import type { RevokedRead } from '../auth/revocations.js';

export interface RefreshRecord {
  tokenHash: string;
  /** Written by this host from a user id it made (auth/oidc.ts). */
  userId: UserId;
  familyId: string;
  expiresAt: number;
  usedAt?: number;
}

/** A refresh token presented: its first use, or one after that (auth/tokens.ts decides which may still rotate). */
export type RefreshUse =
  | { record: RefreshRecord; reused: false }
  | {
      record: RefreshRecord & { usedAt: number };
      reused: true;
      /** The hash of the token its first use issued (absent on records used before tokens named it). */
      successor?: string;
      /** The client's attempt that first use was (absent when it named none): its id's hash, and the try that issued `successor`. */
      attempt?: RefreshAttempt;
      /** Where a later try last left the chain (a hint, never behind it): the newest token it issued and that try. */
      newest?: { hash: string; n: number };
      /** Used by a supersession (a refresh of the token before it, presented again), not by its holder. */
      superseded: boolean;
    };

/**
 * A refresh as the client numbers it (auth/tokens.ts): the SHA-256 of its random id, the same on every try of one
 * refresh, and the try (1, 2, …).
 */
export interface RefreshAttempt {
  idHash: string;
  n: number;
}

/**
 * Superseded tokens one try may walk past to the newest of its chain, at most (a try starts where the last one noted
 * it left the chain, so this is reached only by tries at once whose notes all lag): beyond, it is taken for a token
 * used twice.
 */
export const MAX_SUPERSEDED = 8;

const refreshKey = (hash: string): Record<string, AttributeValue> => ({ pk: { S: `REFRESH#${hash}` }, sk: { S: 'REFRESH' } });
const familyKey = (familyId: string): Record<string, AttributeValue> => ({ pk: { S: `FAMILY#${familyId}` }, sk: { S: 'FAMILY' } });
/** BatchGetItem's limit on keys per call. */
export const SESSIONS_PER_READ = 100;
/** Calls of one session read before keys DynamoDB keeps leaving unprocessed are given up (about 20, 40, 80 ms apart). */
const UNPROCESSED_ATTEMPTS = 4;

export class Sessions {
  constructor(private readonly table: Table) {}

  async putRefreshToken(r: RefreshRecord): Promise<void> {
    const key = refreshKey(r.tokenHash);
    const done = await this.table.writeOnce(key, 'writeMark', (mark) =>
      this.table.db.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            ...key,
            userId: { S: r.userId },
            familyId: { S: r.familyId },
            expiresAt: { N: String(r.expiresAt) },
            ttl: { N: String(Math.ceil(r.expiresAt / 1000)) },
            writeMark: { S: mark },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    // The token is fresh random bytes: no other record has its hash, and one that does is not ours to answer for.
    if (done.outcome === 'refused') throw unavailable(new Error('a refresh token record with this hash exists'));
  }

  /**
   * Marks a refresh token used, once, naming the token issued for it (`successorHash`, written in the same update).
   * Returns its record; `reused` when it had been used before (with when, what it named as its successor, and
   * whether that use was a supersession, not its holder's). Each use writes a mark of its own (`usedBy`): an
   * attempt the SDK tried again, or whose answer was lost, that stored this use reads as this use, not as a second
   * one.
   */
  async useRefreshToken(tokenHash: string, now: number, successorHash: string, attempt?: RefreshAttempt): Promise<RefreshUse | undefined> {
    const done = await this.table.writeOnce(refreshKey(tokenHash), 'usedBy', (mark) =>
      this.table.db.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: refreshKey(tokenHash),
          UpdateExpression: `SET usedAt = :now, usedBy = :by, successor = :next${attempt ? ', attemptHash = :attempt, successorTry = :try' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(usedAt)',
          ExpressionAttributeValues: {
            ':now': { N: String(now) },
            ':by': { S: mark },
            ':next': { S: successorHash },
            ...(attempt ? { ':attempt': { S: attempt.idHash }, ':try': { N: String(attempt.n) } } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    const a = done.outcome === 'written' ? (done.out?.Attributes ?? done.item) : done.item;
    if (!a?.familyId?.S || !a.userId?.S) return undefined; // no such token (or only the mark of one never issued)
    const record: RefreshRecord = { tokenHash, userId: a.userId.S as UserId, familyId: a.familyId.S, expiresAt: Number(a.expiresAt!.N) };
    if (done.outcome === 'written') return { record, reused: false };
    return {
      record: { ...record, usedAt: Number(a.usedAt?.N ?? 0) },
      reused: true,
      ...(a.successor?.S ? { successor: a.successor.S } : {}),
      ...(a.attemptHash?.S && a.successorTry?.N ? { attempt: { idHash: a.attemptHash.S, n: Number(a.successorTry.N) } } : {}),
      ...(a.newest?.S && a.newestTry?.N ? { newest: { hash: a.newest.S, n: Number(a.newestTry.N) } } : {}),
      superseded: a.supersededAt !== undefined,
    };
  }

  /**
   * Supersedes the newest token issued after a used one, for a later try of the refresh that used it (auth/tokens.ts):
   * starting at `of.successor`, issued to try `of.attempt.n`, follows the tokens already superseded (each names the
   * token issued in its place, `replacedBy`, and the try it went to, `replacedByTry`) to the first one not used. That
   * one is marked used and replaced by `nextHash` for try `n`, in one conditional write. A token whose record is not
   * there (its write failed, or is still on its way) is marked all the same: its late write then finds the hash
   * taken and is refused, so it never becomes usable.
   *
   * `superseded` when that write was made; `older` when the newest token went to this try or a later one (this is an
   * earlier try, still on its way: its answer is lost, and the newer one's stands); `used` when the chain reaches a
   * token its holder used (a refresh made after it: the token presented is then a token used twice), or the walk is
   * longer than MAX_SUPERSEDED.
   */
  async supersede(
    of: RefreshRecord & { successor: string; attempt: RefreshAttempt; newest?: { hash: string; n: number } },
    n: number,
    now: number,
    nextHash: string,
    keepUntil: number,
  ): Promise<'superseded' | 'older' | 'used'> {
    // From where the last try left the chain, when the used token says (every token before that is superseded).
    let at = of.newest?.hash ?? of.successor;
    let issuedTo = of.newest?.n ?? of.attempt.n;
    for (let hop = 0; hop < MAX_SUPERSEDED; hop++) {
      if (issuedTo >= n) return 'older';
      const done = await this.table.writeOnce(refreshKey(at), 'usedBy', (mark) =>
        this.table.db.send(
          new UpdateItemCommand({
            TableName: this.table.tableName,
            Key: refreshKey(at),
            UpdateExpression:
              'SET usedAt = :now, usedBy = :by, supersededAt = :now, replacedBy = :next, replacedByTry = :try, userId = if_not_exists(userId, :user), ' +
              'familyId = if_not_exists(familyId, :family), expiresAt = if_not_exists(expiresAt, :keep), #ttl = if_not_exists(#ttl, :ttl)',
            ConditionExpression: 'attribute_not_exists(usedAt)',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':now': { N: String(now) },
              ':by': { S: mark },
              ':next': { S: nextHash },
              ':try': { N: String(n) },
              ':user': { S: of.userId },
              ':family': { S: of.familyId },
              ':keep': { N: String(keepUntil) },
              ':ttl': { N: String(Math.ceil(keepUntil / 1000)) },
            },
          }),
        ),
      );
      if (done.outcome === 'written') {
        await this.noteNewest(of.tokenHash, nextHash, n);
        return 'superseded';
      }
      const item = done.item;
      // Used by its holder, or not of this session (never, for a hash this host chained): a refresh after this one.
      if (!item || item.familyId?.S !== of.familyId || item.supersededAt === undefined || !item.replacedBy?.S || !item.replacedByTry?.N) return 'used';
      at = item.replacedBy.S;
      issuedTo = Number(item.replacedByTry.N);
    }
    return 'used';
  }

  /**
   * Notes on a used token where its chain now ends (`newest`, for try `n`), so the next try starts there instead of
   * walking every token superseded before. Only ever forward (a late or replayed note of an earlier try is refused);
   * a hint: the chain's own writes decide, and a note that fails is a longer walk next time.
   */
  private async noteNewest(tokenHash: string, newestHash: string, n: number): Promise<void> {
    try {
      await this.table.db.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: refreshKey(tokenHash),
          UpdateExpression: 'SET newest = :newest, newestTry = :try',
          ConditionExpression: 'attribute_exists(usedAt) AND (attribute_not_exists(newestTry) OR newestTry < :try)',
          ExpressionAttributeValues: { ':newest': { S: newestHash }, ':try': { N: String(n) } },
        }),
      );
    } catch {
      // refused (a later try noted first) or not written: the walk is only longer
    }
  }

  /** Revokes a session; the record is kept until `keepUntil` (ms), when every token of the family has expired. */
  async revokeFamily(familyId: string, keepUntil: number): Promise<void> {
    try {
      await this.table.db.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: { ...familyKey(familyId), revokedAt: { N: String(Date.now()) }, ttl: { N: String(Math.ceil(keepUntil / 1000)) } },
        }),
      );
    } catch (err) {
      throw unavailable(err);
    }
  }

  /**
   * Which of these sessions are revoked: consistent reads of their `FAMILY#` records in one `BatchGetItem` (at most
   * SESSIONS_PER_READ ids). Keys DynamoDB leaves unprocessed (throttling) are asked again, a few times, 20–80 ms
   * apart (with jitter); those it still leaves are returned as unread, with the error their requests get: an answer
   * is never a guess. A call that fails fails them all.
   */
  async revokedFamilies(familyIds: readonly string[]): Promise<RevokedRead> {
    if (familyIds.length > SESSIONS_PER_READ) throw new RangeError(`at most ${SESSIONS_PER_READ} sessions per read`);
    const revoked = new Set<string>();
    let keys = familyIds.map(familyKey);
    try {
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt === UNPROCESSED_ATTEMPTS) {
          const ids = keys.map((k) => k.pk!.S!.slice('FAMILY#'.length));
          return { revoked, unread: { ids, error: unavailable(new Error(`${ids.length} session records left unprocessed after ${attempt} attempts`)) } };
        }
        if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** (attempt - 1) * (0.5 + Math.random())));
        const out = await this.table.db.send(
          new BatchGetItemCommand({ RequestItems: { [this.table.tableName]: { Keys: keys, ConsistentRead: true, ProjectionExpression: 'pk' } } }),
        );
        for (const item of out.Responses?.[this.table.tableName] ?? []) revoked.add(item.pk!.S!.slice('FAMILY#'.length));
        keys = out.UnprocessedKeys?.[this.table.tableName]?.Keys ?? [];
      }
    } catch (err) {
      throw unavailable(err);
    }
    return { revoked };
  }

  async isFamilyRevoked(familyId: string): Promise<boolean> {
    try {
      const out = await this.table.db.send(new GetItemCommand({ TableName: this.table.tableName, Key: familyKey(familyId), ConsistentRead: true }));
      return out.Item !== undefined;
    } catch (err) {
      throw unavailable(err);
    }
  }
}

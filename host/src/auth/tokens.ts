/**
 * The host's own session tokens: short-lived access tokens (ES256 JWTs signed
 * by the host) and rotating refresh tokens (random, stored only as SHA-256
 * hashes). Using a refresh token twice revokes its whole family: a stolen
 * token stops working as soon as either party uses it again. The one
 * exception is a later try of the same refresh (the client names each refresh
 * with a random id and numbers its tries): the earlier try's answer was lost,
 * so within REFRESH_RETRY_WINDOW_MS the session rotates again and the token
 * that answer carried stops working. A family is a
 * session: its access tokens name it (`sid`), and once it is revoked (that
 * reuse, or a logout) they are refused too, by every host within
 * SESSION_CHECK_MS (auth/revocations.ts).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { errors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type CryptoKey } from 'jose';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { Store } from '../storage/index.js';
import { RevocationCache } from './revocations.js';
import type { UserId } from '@enclave-wallet/proto/ids';

export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const REFRESH_TOKEN_TTL_S = 30 * 24 * 3600;
/**
 * How long after a refresh token's first use a later try of that same refresh (the same attempt id, a higher try
 * number: docs/api.md#sessions) still rotates the session instead of revoking it. Above the SDK's default deadline
 * for a call (180 s) and the host's worst case for a refresh (about 144 s), so an app that calls refresh() again
 * after a TIMEOUT keeps its session. Only the client that made the refresh knows its attempt id: a copy of the token
 * presented by anyone else revokes the session as before.
 */
export const REFRESH_RETRY_WINDOW_MS = 10 * 60_000;
export const ACCESS_TOKEN_AUDIENCE = 'enclave-wallet-api';
const ALG = 'ES256';

export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface AccessClaims {
  userId: UserId;
  /** The session (refresh-token family) the token belongs to. */
  sessionId: string;
}

const hash = (token: string): string => createHash('sha256').update(token).digest('hex');
const newRefreshToken = (): string => randomBytes(32).toString('base64url');

/** Verified access tokens remembered, at most (oldest dropped first). */
export const VERIFIED_TOKENS_CACHED = 10_000;

/** An ES256 signing key as a private JWK (HOST_SIGNING_KEY, or generated and kept under .data locally). */
export async function newSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg: ALG, kid: randomUUID() };
}

export class TokenService {
  /**
   * Access tokens this host has verified, by SHA-256 of the token, with their subject and expiry: a token is
   * checked (ES256 through WebCrypto, 1.5–2.5 ms of CPU here) once, and afterwards only its expiry is. Same
   * answers as verifying again: an access token's signature, issuer and audience cannot change, and expiry is
   * checked on every use. Only tokens that verified are kept.
   */
  private readonly verified = new Map<string, { userId: UserId; sessionId: string; exp: number }>();
  /** Revoked sessions, as this host last read them (at most SESSION_CHECK_MS ago). */
  private readonly revocations: RevocationCache;

  private constructor(
    private readonly key: CryptoKey | Uint8Array,
    private readonly publicKey: CryptoKey | Uint8Array,
    private readonly kid: string,
    private readonly issuer: string,
    private readonly store: Store,
    private readonly now: () => number,
  ) {
    this.revocations = new RevocationCache((sessionIds) => this.store.sessions.revokedFamilies(sessionIds), now);
  }

  static async create(jwk: JWK, issuer: string, store: Store, now: () => number = Date.now): Promise<TokenService> {
    if (!jwk.d) throw new Error('the signing JWK must include the private key');
    const { d: _d, ...publicJwk } = jwk;
    return new TokenService(await importJWK(jwk, ALG), await importJWK(publicJwk, ALG), jwk.kid ?? 'host', issuer, store, now);
  }

  /** A session's access token, and its refresh token (`refreshToken`, made by the caller when it names it first). */
  async issue(userId: UserId, familyId: string = randomUUID(), refreshToken: string = newRefreshToken()): Promise<SessionTokens> {
    const nowS = Math.floor(this.now() / 1000);
    const accessToken = await new SignJWT({ sid: familyId })
      .setProtectedHeader({ alg: ALG, kid: this.kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setSubject(userId)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + ACCESS_TOKEN_TTL_S)
      .setJti(randomUUID())
      .sign(this.key);
    await this.store.sessions.putRefreshToken({ tokenHash: hash(refreshToken), userId, familyId, expiresAt: this.now() + REFRESH_TOKEN_TTL_S * 1000 });
    return { accessToken, refreshToken, expiresIn: ACCESS_TOKEN_TTL_S };
  }

  /**
   * The token's user and session, once its signature (remembered) and expiry check out and its session is not
   * revoked (as read from the session store within SESSION_CHECK_MS).
   *
   * @throws {EnclaveWalletError} UNAUTHENTICATED, TOKEN_EXPIRED, TOKEN_INVALID or TOKEN_REVOKED; STORAGE_UNAVAILABLE
   */
  async verifyAccess(token: string | undefined): Promise<AccessClaims> {
    const claims = await this.verifySignedAccess(token);
    if (await this.revocations.revoked(claims.sessionId))
      throw new EnclaveWalletError('TOKEN_REVOKED', 'the session was revoked (logout, or a refresh token used twice); log in again');
    return claims;
  }

  /** Ends the session of a valid access token: its refresh token and every access token of it stop working. */
  async revoke(sessionId: string): Promise<void> {
    // Kept while any of its tokens could still be presented: the last refresh token was issued before now.
    await this.store.sessions.revokeFamily(sessionId, this.now() + REFRESH_TOKEN_TTL_S * 1000);
    this.revocations.markRevoked(sessionId);
  }

  private async verifySignedAccess(token: string | undefined): Promise<AccessClaims> {
    if (!token) throw new EnclaveWalletError('UNAUTHENTICATED', 'an access token is required (Authorization: Bearer …)');
    const key = hash(token);
    const known = this.verified.get(key);
    if (known) {
      // As jose decides it: expired once `exp` is at or before the current second.
      if (known.exp <= Math.floor(this.now() / 1000)) {
        this.verified.delete(key);
        throw new EnclaveWalletError('TOKEN_EXPIRED', 'the access token has expired; refresh it');
      }
      return { userId: known.userId, sessionId: known.sessionId };
    }
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        issuer: this.issuer,
        audience: ACCESS_TOKEN_AUDIENCE,
        algorithms: [ALG],
        typ: 'at+jwt',
        currentDate: new Date(this.now()),
        // A token without `sid` (minted before sessions could be revoked) cannot be revoked: refused, so the client refreshes.
        requiredClaims: ['exp', 'sub', 'sid'],
      });
      if (typeof payload.sid !== 'string' || payload.sid.length === 0) throw new EnclaveWalletError('TOKEN_INVALID', 'the access token is not valid');
      const userId = payload.sub! as UserId; // a subject this host signed (issue takes a UserId)
      this.verified.set(key, { userId, sessionId: payload.sid, exp: payload.exp! });
      if (this.verified.size > VERIFIED_TOKENS_CACHED) this.verified.delete(this.verified.keys().next().value!);
      return { userId, sessionId: payload.sid };
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new EnclaveWalletError('TOKEN_EXPIRED', 'the access token has expired; refresh it');
      throw new EnclaveWalletError('TOKEN_INVALID', 'the access token is not valid');
    }
  }

  /**
   * Exchanges a refresh token for new tokens (rotation). A token presented again is a token used twice, and revokes
   * its session, unless it is a later try of the refresh that used it (`attempt`: the same id, a higher try number)
   * within REFRESH_RETRY_WINDOW_MS and no token issued after it has been used: then the token the earlier try was
   * answered with is superseded (stops working) and a new one is issued in its place. An earlier try arriving after a
   * later one was answered is refused (TOKEN_INVALID) without changing anything.
   *
   * @throws {EnclaveWalletError} TOKEN_INVALID, TOKEN_EXPIRED, TOKEN_REVOKED
   */
  async refresh(refreshToken: string, attempt?: { id: string; n: number }): Promise<{ userId: UserId; tokens: SessionTokens }> {
    if (typeof refreshToken !== 'string' || refreshToken.length < 20 || refreshToken.length > 200)
      throw new EnclaveWalletError('TOKEN_INVALID', 'the refresh token is not valid');
    const now = this.now();
    const next = newRefreshToken();
    const named = attempt ? { idHash: hash(attempt.id), n: attempt.n } : undefined;
    const used = await this.store.sessions.useRefreshToken(hash(refreshToken), now, hash(next), named);
    if (!used) throw new EnclaveWalletError('TOKEN_INVALID', 'the refresh token is not valid');
    if (used.reused) {
      // Only the client whose refresh used it, trying again: a superseded token, or another attempt, is a copy.
      const again =
        named &&
        !used.superseded &&
        used.successor !== undefined &&
        used.attempt?.idHash === named.idHash &&
        now - used.record.usedAt <= REFRESH_RETRY_WINDOW_MS
          ? await this.store.sessions.supersede(
              { ...used.record, successor: used.successor, attempt: used.attempt, ...(used.newest ? { newest: used.newest } : {}) },
              named.n,
              now,
              hash(next),
              now + REFRESH_TOKEN_TTL_S * 1000,
            )
          : 'used';
      if (again === 'older') throw new EnclaveWalletError('TOKEN_INVALID', 'a later try of this refresh was answered already: use its tokens');
      if (again === 'used') {
        await this.revoke(used.record.familyId);
        throw new EnclaveWalletError('TOKEN_REVOKED', 'the refresh token was already used; its session is revoked');
      }
    }
    if (await this.store.sessions.isFamilyRevoked(used.record.familyId)) throw new EnclaveWalletError('TOKEN_REVOKED', 'the session was revoked');
    if (used.record.expiresAt < now) throw new EnclaveWalletError('TOKEN_EXPIRED', 'the refresh token has expired; log in again');
    return { userId: used.record.userId, tokens: await this.issue(used.record.userId, used.record.familyId, next) };
  }
}

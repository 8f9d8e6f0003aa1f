/**
 * Verification of OIDC ID tokens from trusted issuers (jose): signature
 * against the issuer's JWKS (found by discovery when not configured),
 * issuer, audience, expiry and issued-at with a small clock skew, and an
 * allow-list of algorithms. The stable user id is derived from
 * (issuer, subject), so the same login always finds the same wallets.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { parseUserId, type UserId } from '@enclave-wallet/proto/ids';

export interface TrustedIssuer {
  issuer: string;
  audience: string;
  /** Optional; found through `${issuer}/.well-known/openid-configuration` when absent. */
  jwksUri?: string;
}

export interface VerifiedIdentity {
  userId: UserId;
  issuer: string;
  subject: string;
  email: string;
  provider: string;
}

/** Algorithms accepted for ID tokens (no `none`, no HMAC). */
export const ALLOWED_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
/** Clock skew tolerated on exp / iat / nbf. */
export const CLOCK_TOLERANCE_S = 60;

/** The stable user id of (issuer, subject). */
export function userIdOf(issuer: string, subject: string): UserId {
  return parseUserId('usr_' + createHash('sha256').update(`${issuer}\u0000${subject}`).digest('hex').slice(0, 32));
}

/** A short provider name for the API's `user.provider`. */
function providerOf(issuer: string): string {
  const host = (() => {
    try {
      return new URL(issuer).hostname;
    } catch {
      return issuer;
    }
  })();
  if (host === 'accounts.google.com') return 'google';
  if (host === 'appleid.apple.com') return 'apple';
  if (host === '127.0.0.1' || host === 'localhost') return 'dev';
  return host;
}

const invalid = (message: string): EnclaveWalletError => new EnclaveWalletError('TOKEN_INVALID', message);

/** How long the issuer's discovery document may take, body included. */
export const OIDC_DISCOVERY_TIMEOUT_MS = 10_000;

export class IdTokenVerifier {
  private readonly jwks = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  constructor(
    private readonly issuers: readonly TrustedIssuer[],
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly discoveryTimeoutMs = OIDC_DISCOVERY_TIMEOUT_MS,
  ) {}

  private async keySet(issuer: TrustedIssuer): Promise<ReturnType<typeof createRemoteJWKSet>> {
    let set = this.jwks.get(issuer.issuer);
    if (set) return set;
    let uri = issuer.jwksUri;
    if (!uri) {
      // Within a deadline, as every call the host makes (jose reads the key set within its own 5 s).
      const signal = AbortSignal.timeout(this.discoveryTimeoutMs);
      const res = await this.fetchImpl(`${issuer.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal }).catch(() => undefined);
      const config = res?.ok ? ((await res.json().catch(() => undefined)) as { issuer?: string; jwks_uri?: string } | undefined) : undefined;
      if (!config?.jwks_uri || config.issuer !== issuer.issuer)
        throw new EnclaveWalletError('TOKEN_INVALID', 'the issuer’s OIDC discovery document is unavailable or inconsistent');
      uri = config.jwks_uri;
    }
    set = createRemoteJWKSet(new URL(uri), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    this.jwks.set(issuer.issuer, set);
    return set;
  }

  /**
   * Verifies an ID token.
   *
   * @throws {EnclaveWalletError} TOKEN_INVALID (untrusted issuer, bad signature,
   *   audience, algorithm, claims) or TOKEN_EXPIRED
   */
  async verify(idToken: string): Promise<VerifiedIdentity> {
    if (typeof idToken !== 'string' || idToken.length > 16_384 || idToken.split('.').length !== 3) throw invalid('idToken is not a JWT');
    let claimedIssuer: string | undefined;
    try {
      claimedIssuer = (JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString('utf8')) as JWTPayload).iss;
    } catch {
      throw invalid('idToken is not a JWT');
    }
    const issuer = this.issuers.find((i) => i.issuer === claimedIssuer);
    if (!issuer) throw invalid('the ID token’s issuer is not trusted');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, await this.keySet(issuer), {
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['sub', 'iat', 'exp'],
      }));
    } catch (err) {
      if (err instanceof EnclaveWalletError) throw err;
      if (err instanceof errors.JWTExpired) throw new EnclaveWalletError('TOKEN_EXPIRED', 'the ID token has expired');
      throw invalid(`the ID token does not verify (${(err as Error).name})`);
    }
    const subject = payload.sub!;
    const email = typeof payload.email === 'string' ? payload.email : '';
    return { userId: userIdOf(issuer.issuer, subject), issuer: issuer.issuer, subject, email, provider: providerOf(issuer.issuer) };
  }
}

/** Parses AUTH_ISSUERS (a JSON array of { issuer, audience, jwksUri? }). */
export function parseIssuers(text: string | undefined): TrustedIssuer[] {
  if (!text) return [];
  const list = JSON.parse(text) as unknown;
  if (!Array.isArray(list)) throw new Error('AUTH_ISSUERS must be a JSON array');
  return list.map((i: Record<string, unknown>, n) => {
    if (typeof i.issuer !== 'string' || typeof i.audience !== 'string') throw new Error(`AUTH_ISSUERS[${n}] needs issuer and audience`);
    if (i.jwksUri !== undefined && typeof i.jwksUri !== 'string') throw new Error(`AUTH_ISSUERS[${n}].jwksUri must be a string`);
    return { issuer: i.issuer, audience: i.audience, ...(i.jwksUri ? { jwksUri: i.jwksUri as string } : {}) };
  });
}

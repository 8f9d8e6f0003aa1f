/**
 * Access tokens (src/auth/tokens.ts): a verified token is remembered, and a
 * remembered token answers exactly as verifying it again would: the same
 * subject, and TOKEN_EXPIRED from the same second on. Tokens that fail are
 * never remembered; a token without a session (`sid`) is refused. (A unit
 * test of one module: the store is a stand-in that takes refresh tokens and
 * knows no revoked session; revocation is in revocations.test.ts and e2e.)
 */
import { SignJWT, importJWK } from 'jose';
import { newSigningJwk, TokenService, ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_TTL_S, type Store } from '@enclave-wallet/host';
import { parseUserId as uid } from '@enclave-wallet/proto/ids';

const ISSUER = 'http://wallet.test';
const store = {
  sessions: { putRefreshToken: async () => undefined, isFamilyRevoked: async () => false, revokedFamilies: async () => ({ revoked: new Set<string>() }) },
} as unknown as Store;
const claims = (userId: string) => ({ userId, sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
let now = Date.UTC(2026, 10, 26, 12, 0, 0);
const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'OK',
    (e: unknown) => (e as { code?: string }).code ?? String(e),
  );

test('a token verifies once and is then answered from memory, until the very second it expires', async () => {
  const tokens = await TokenService.create(await newSigningJwk(), ISSUER, store, () => now);
  const { accessToken: remembered } = await tokens.issue(uid('usr_a'));
  const { accessToken: fresh } = await tokens.issue(uid('usr_a'));
  expect(await tokens.verifyAccess(remembered)).toEqual(claims('usr_a'));
  expect(await tokens.verifyAccess(remembered)).toEqual(claims('usr_a'));
  now += (ACCESS_TOKEN_TTL_S - 1) * 1000;
  expect(await tokens.verifyAccess(remembered)).toEqual(claims('usr_a'));
  // At expiry both paths agree: the remembered token and one never verified before.
  now += 1000;
  expect(await codeOf(tokens.verifyAccess(remembered))).toBe('TOKEN_EXPIRED');
  expect(await codeOf(tokens.verifyAccess(fresh))).toBe('TOKEN_EXPIRED');
  now -= ACCESS_TOKEN_TTL_S * 1000;
});

test('tokens that fail are refused every time: tampered, another key, another audience, no expiry', async () => {
  const jwk = await newSigningJwk();
  const tokens = await TokenService.create(jwk, ISSUER, store, () => now);
  const { accessToken } = await tokens.issue(uid('usr_b'));
  const tampered = accessToken.slice(0, -4) + (accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const other = await TokenService.create(await newSigningJwk(), ISSUER, store, () => now);
  const { accessToken: foreign } = await other.issue(uid('usr_b'));
  const key = await importJWK(jwk, 'ES256');
  const nowS = Math.floor(now / 1000);
  const sign = (claims: { aud?: string; exp?: number }) => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).setIssuer(ISSUER).setSubject('usr_b').setIssuedAt(nowS);
    if (claims.aud) jwt.setAudience(claims.aud);
    if (claims.exp) jwt.setExpirationTime(claims.exp);
    return jwt.sign(key);
  };
  const wrongAudience = await sign({ aud: 'someone-else', exp: nowS + 60 });
  const noExpiry = await sign({ aud: ACCESS_TOKEN_AUDIENCE });
  // Right key, issuer, audience and expiry, but no session to revoke it by.
  const noSession = await sign({ aud: ACCESS_TOKEN_AUDIENCE, exp: nowS + 60 });
  for (const bad of [tampered, foreign, wrongAudience, noExpiry, noSession]) {
    expect(await codeOf(tokens.verifyAccess(bad))).toBe('TOKEN_INVALID');
    expect(await codeOf(tokens.verifyAccess(bad))).toBe('TOKEN_INVALID');
  }
  expect(await codeOf(tokens.verifyAccess(undefined))).toBe('UNAUTHENTICATED');
  expect(await tokens.verifyAccess(accessToken)).toEqual(claims('usr_b'));
});

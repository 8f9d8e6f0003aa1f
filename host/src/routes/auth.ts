/** Login with an OIDC ID token, refresh, and logout. */
import type { Express } from 'express';
import * as S from '../api/schemas.js';
import { BODY_LIMITS } from '../api/body.js';
import type { RouteContext } from './context.js';

export function mountAuth(app: Express, ctx: RouteContext): void {
  const { deps, route, need, limits, clientOf, authenticateSession, body } = ctx;
  // --- authentication ------------------------------------------------------
  const loginAnswer = async (userId: string, tokens: { accessToken: string; refreshToken: string; expiresIn: number }) => {
    const user = await need(deps.store, 'storage').users.get(userId);
    return { ...tokens, user: { id: userId, email: user?.email ?? '', provider: user?.provider ?? '' } };
  };
  app.post(
    '/v1/auth/login',
    route(async (req, res) => {
      limits?.auth.hit(clientOf(req));
      const { idToken } = await body(S.loginBody, req, BODY_LIMITS.small);
      const identity = await need(deps.idTokens, 'login').verify(idToken);
      await need(deps.store, 'storage').users.upsert({ ...identity, createdAt: new Date().toISOString() });
      res.locals.userId = identity.userId;
      res.json(await loginAnswer(identity.userId, await need(deps.tokens, 'authentication').issue(identity.userId)));
    }),
  );
  app.post(
    '/v1/auth/refresh',
    route(async (req, res) => {
      limits?.auth.hit(clientOf(req));
      const { refreshToken, attempt } = await body(S.refreshBody, req, BODY_LIMITS.small);
      const { userId, tokens } = await need(deps.tokens, 'authentication').refresh(refreshToken, attempt);
      res.locals.userId = userId;
      res.json(await loginAnswer(userId, tokens));
    }),
  );
  // Ends the bearer token's session: its refresh token at once, its access tokens on every host within
  // SESSION_CHECK_MS (auth/revocations.ts). No body.
  app.post(
    '/v1/auth/logout',
    route(async (req, res) => {
      const { sessionId } = await authenticateSession(req, res);
      await need(deps.tokens, 'authentication').revoke(sessionId);
      res.status(204).end();
    }),
  );
}

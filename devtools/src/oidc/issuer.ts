/**
 * DEV OIDC ISSUER — a development stand-in for Google / Apple / a company IdP.
 * `POST /token` with `{ "email" }` (and optionally `"audience"`, `"expiresIn"`) answers `{ "id_token" }` (RS256); discovery
 * at `/.well-known/openid-configuration`, keys at `/jwks`. Anyone can get a
 * token for any email: it exists only in the local stack and is trusted by
 * the host only when the launcher configures it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

/** The audience of dev ID tokens (the host's AUTH config uses the same). */
export const DEV_AUDIENCE = 'enclave-wallet-local';

export interface DevIssuerOptions {
  /** Where the signing key is kept (so tokens survive restarts). */
  dataDir: string;
  /**
   * The issuer URL, e.g. http://127.0.0.1:9090 (defaults to where it listens). It may have a path and a trailing
   * slash, as Entra's and Auth0's have (`http://127.0.0.2:9191/tenant-b/`): the endpoints are then served under
   * that path (`…/tenant-b/.well-known/openid-configuration`), and `iss` is the URL exactly as given.
   */
  issuer?: string;
  /** The `aud` of its tokens (default DEV_AUDIENCE), as a real provider's is the app's client id. */
  audience?: string;
  /** Browser origins allowed to call POST /token (CORS), e.g. the local host's demo page. */
  corsOrigins?: string[];
}

async function loadKey(dataDir: string): Promise<JWK> {
  const file = join(dataDir, 'signing-key.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', kid: randomUUID(), use: 'sig' };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  return jwk;
}

export class DevIssuer {
  private jwk!: JWK;
  private issuer = '';
  /** The issuer URL without a trailing slash: where the endpoints are. */
  private base = '';
  /** The issuer URL's path (no trailing slash), stripped from requests. */
  private prefix = '';
  private readonly origins: Set<string>;

  constructor(private readonly options: DevIssuerOptions) {
    this.origins = new Set(options.corsOrigins ?? []);
  }

  /** Lets a browser origin call POST /token (the demo page of a host started later). */
  allowOrigin(origin: string): void {
    this.origins.add(origin);
  }

  async listen(port: number, host = '127.0.0.1'): Promise<{ url: string; server: Server }> {
    this.jwk = await loadKey(this.options.dataDir);
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const url = `http://${host}:${(server.address() as AddressInfo).port}`;
    this.issuer = this.options.issuer ?? url;
    this.base = this.issuer.replace(/\/$/, '');
    this.prefix = new URL(this.base).pathname.replace(/\/$/, '');
    return { url, server };
  }

  /** The issuer URL (`iss` of its tokens). */
  get issuerUrl(): string {
    return this.issuer;
  }

  /** The audience of its tokens. */
  get audience(): string {
    return this.options.audience ?? DEV_AUDIENCE;
  }

  /** Signs an ID token (also used by tests for tokens with odd claims). */
  async sign(claims: { email: string; sub?: string; aud?: string; expiresIn?: number; iss?: string }): Promise<string> {
    const key = await importJWK(this.jwk, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const sub = claims.sub ?? 'dev|' + createHash('sha256').update(claims.email.toLowerCase()).digest('hex').slice(0, 24);
    return new SignJWT({ email: claims.email, email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid: this.jwk.kid!, typ: 'JWT' })
      .setIssuer(claims.iss ?? this.issuer)
      .setAudience(claims.aud ?? this.audience)
      .setSubject(sub)
      .setIssuedAt(now)
      .setExpirationTime(now + (claims.expiresIn ?? 3600))
      .sign(key);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = typeof req.headers.origin === 'string' && this.origins.has(req.headers.origin) ? req.headers.origin : undefined;
    const cors: Record<string, string> = origin ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...cors });
      res.end(JSON.stringify(body));
    };
    const full = (req.url ?? '/').split('?')[0]!;
    const path = this.prefix && full.startsWith(`${this.prefix}/`) ? full.slice(this.prefix.length) : this.prefix ? '' : full;
    try {
      if (req.method === 'OPTIONS' && path === '/token') {
        // CORS preflight, answered only for the allowed origins.
        res.writeHead(
          origin ? 204 : 403,
          origin ? { ...cors, 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' } : {},
        );
        res.end();
      } else if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
        send(200, {
          issuer: this.issuer,
          jwks_uri: `${this.base}/jwks`,
          token_endpoint: `${this.base}/token`,
          id_token_signing_alg_values_supported: ['RS256'],
          subject_types_supported: ['public'],
          response_types_supported: ['id_token'],
        });
      } else if (req.method === 'GET' && path === '/jwks') {
        const { kty, n, e, kid, alg } = this.jwk;
        send(200, { keys: [{ kty, n, e, kid, alg, use: 'sig' }] });
      } else if (req.method === 'POST' && path === '/token') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { email?: unknown; expiresIn?: unknown; audience?: unknown };
        if (typeof body.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(body.email)) {
          send(400, { error: 'invalid_request', error_description: 'email is required' });
          return;
        }
        const expiresIn = typeof body.expiresIn === 'number' && body.expiresIn >= -3600 && body.expiresIn <= 86400 ? body.expiresIn : 3600;
        // `audience`: a token for another app (tests and docs/login.md show the host refusing it).
        const aud = typeof body.audience === 'string' && body.audience.length > 0 && body.audience.length <= 256 ? body.audience : undefined;
        send(200, { id_token: await this.sign({ email: body.email, expiresIn, ...(aud ? { aud } : {}) }), token_type: 'Bearer', expires_in: expiresIn });
      } else {
        send(404, { error: 'not_found' });
      }
    } catch {
      send(400, { error: 'invalid_request' });
    }
  }
}

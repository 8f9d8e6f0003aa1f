/** The OpenAPI 3.1 document of the API, built from the same zod schemas that validate requests, and a plain HTML page of it. */
import { z } from 'zod';
import { ERROR_CODE_NAMES } from '@enclave-wallet/proto';
import { HTTP_STATUS } from './http-status.js';
import * as S from './schemas.js';

const json = (schema: z.ZodType): unknown => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema: json(schema) } } });
const bearer = [{ bearer: [] }];

interface Op {
  summary: string;
  security?: unknown[];
  requestBody?: unknown;
  parameters?: unknown[];
  responses: Record<string, { description: string }>;
}

let cached: unknown;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached as Record<string, unknown>;
  const ok = (code: string, description: string) => ({ [code]: { description }, default: { description: 'error: { error: { code, message, requestId } }' } });
  const walletId = { name: 'walletId', in: 'path', required: true, schema: { type: 'string' } };
  const paths: Record<string, Record<string, Op>> = {
    '/v1/auth/login': {
      post: {
        summary: 'Exchange an OIDC ID token for session tokens',
        requestBody: body(S.loginBody),
        responses: ok('200', '{ accessToken, refreshToken, expiresIn, user }'),
      },
    },
    '/v1/auth/refresh': { post: { summary: 'Rotate the refresh token', requestBody: body(S.refreshBody), responses: ok('200', 'same as login') } },
    '/v1/auth/logout': {
      post: {
        summary: 'End the bearer token’s session: its refresh token at once, its access tokens on every host within 5 s (TOKEN_REVOKED)',
        security: bearer,
        responses: ok('204', 'logged out'),
      },
    },
    '/v1/enclave/attestation': {
      get: {
        summary: 'A fresh attestation document of the enclave',
        parameters: [{ name: 'nonce', in: 'query', schema: { type: 'string', pattern: '^([0-9a-fA-F]{2}){0,64}$' } }],
        responses: ok('200', '{ document, publicKey, pcrs, mode, kdf, expiresAt }'),
      },
    },
    '/v1/wallets': {
      post: {
        summary: 'Create a wallet (envelope purpose create-wallet)',
        security: bearer,
        requestBody: body(S.pinEnvelopeBody),
        responses: ok('201', '{ walletId, accounts, createdAt }'),
      },
      get: { summary: 'The caller’s wallets', security: bearer, responses: ok('200', '{ wallets }') },
    },
    '/v1/wallets/import': {
      post: {
        summary: 'Restore a wallet from a recovery phrase (envelope purpose import)',
        security: bearer,
        requestBody: body(S.importBody),
        responses: ok('201', 'like create'),
      },
    },
    '/v1/wallets/{walletId}': {
      get: { summary: 'One wallet', security: bearer, parameters: [walletId], responses: ok('200', '{ walletId, accounts, createdAt }') },
    },
    '/v1/wallets/{walletId}/accounts': {
      post: {
        summary: 'Derive an account (envelope purpose derive-account)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.deriveAccountBody),
        responses: ok('201', '{ network, index, path, address }'),
      },
    },
    '/v1/wallets/{walletId}/sign': {
      post: {
        summary: 'Sign a transaction, message or typed data (envelope purpose sign, bound to the signing account: network and address; docs/pin-envelope.md)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.signBody),
        responses: ok('200', '{ signature, signedTransaction?, hash? }'),
      },
    },
    '/v1/wallets/{walletId}/pin': {
      post: {
        summary: 'Change the PIN (envelope purpose change-pin)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.pinEnvelopeBody),
        responses: ok('204', 'changed'),
      },
    },
    '/v1/wallets/{walletId}/export': {
      post: {
        summary: 'Export the recovery phrase encrypted to the client’s key (envelope purpose export)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.exportBody),
        responses: ok('200', '{ encryptedRecoveryPhrase }'),
      },
    },
    '/v1/chains': {
      get: {
        summary: 'The chains this host reads and broadcasts to (CHAINS): network, chainId or cluster, name, nativeSymbol, tokens',
        security: bearer,
        responses: ok('200', '{ chains: [ { network, chainId | cluster, name, nativeSymbol, tokens } ] }'),
      },
    },
    '/v1/wallets/{walletId}/balances': {
      get: {
        summary: 'Balances of the wallet’s accounts on one chain, read from its node: the native coin and every configured token',
        security: bearer,
        parameters: [
          walletId,
          { name: 'network', in: 'query', required: true, schema: { enum: ['evm', 'solana'] } },
          { name: 'chainId', in: 'query', schema: { type: 'string', pattern: '^[1-9][0-9]*$' } },
          { name: 'cluster', in: 'query', schema: { type: 'string' } },
        ],
        responses: ok(
          '200',
          '{ balances: [ { address, asset: "native" | token address, symbol, decimals, amount (smallest unit, decimal string; null with error when a token did not answer) } ] }',
        ),
      },
    },
    '/v1/wallets/{walletId}/transactions/prepare': {
      post: {
        summary:
          'Fill a transaction from the node: EVM nonce (pending), gas (+20 %), EIP-1559 or legacy fees; a Solana SOL transfer with the latest blockhash. Answers the digest to bind; check it yourself',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.prepareBody),
        responses: ok('200', '{ network, chainId | cluster, address, transaction, digest }'),
      },
    },
    '/v1/wallets/{walletId}/transactions/send': {
      post: {
        summary: 'Sign a transaction in the enclave (as /sign, kind transaction; Solana names its cluster) and hand it to the node once',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.sendBody),
        responses: ok('200', '{ hash, signedTransaction }'),
      },
    },
    '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'alive' } } } },
    '/readyz': { get: { summary: 'Readiness (enclave and storage)', responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } } } },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics, for operators: Authorization: Bearer METRICS_TOKEN, or loopback clients when no token is set and no proxy is trusted',
        responses: { '200': { description: 'text exposition format' }, '403': { description: 'FORBIDDEN' } },
      },
    },
  };
  cached = {
    openapi: '3.1.0',
    info: { title: 'Enclave Wallet API', version: '0.1.0', description: 'Wallets behind a social login and a PIN; keys only inside an enclave.' },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'requestId'],
              properties: {
                code: { type: 'string', enum: [...ERROR_CODE_NAMES] },
                message: { type: 'string' },
                requestId: { type: 'string' },
                attemptsLeft: { type: 'integer' },
                retryAfter: { type: 'integer' },
                reason: { type: 'string', description: 'chain codes: what the node said' },
                hash: { type: 'string', description: 'a send whose outcome is unknown: the transaction hash to look up' },
              },
            },
          },
        },
      },
    },
    'x-error-codes': Object.fromEntries(ERROR_CODE_NAMES.map((c) => [c, HTTP_STATUS[c]])),
  };
  return cached as Record<string, unknown>;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A self-contained HTML reference (no scripts, so the strict CSP applies). */
export function renderDocsPage(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, Op>>;
  const rows = Object.entries(paths)
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(
        ([method, op]) =>
          `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${esc(path)}</code></td><td>${esc(op.summary)}</td><td>${op.security ? 'bearer' : '—'}</td></tr>`,
      ),
    )
    .join('\n');
  const codes = Object.entries(doc['x-error-codes'] as Record<string, number>)
    .map(([c, s]) => `<tr><td><code>${c}</code></td><td>${s}</td></tr>`)
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Enclave Wallet API</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}</style></head>
<body><h1>Enclave Wallet API</h1><p>JSON over HTTP. Errors are <code>{ "error": { "code", "message", "requestId" } }</code>. The machine-readable document is <a href="/openapi.json">/openapi.json</a>.</p>
<h2>Endpoints</h2><table><tr><th>method</th><th>path</th><th>what</th><th>auth</th></tr>${rows}</table>
<h2>Error codes</h2><table><tr><th>code</th><th>HTTP status</th></tr>${codes}</table></body></html>`;
}

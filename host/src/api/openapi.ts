/** The OpenAPI 3.1 document of the API, built from the same zod schemas that validate requests, and a plain HTML page of it. */
import { z } from 'zod';
import { ERROR_CODE_NAMES } from '@enclave-wallet/proto';
import { HTTP_STATUS } from './http-status.js';
import * as S from './schemas.js';

const json = (schema: z.ZodType): JsonSchema => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema: json(schema) } } });
const bearer = [{ bearer: [] }];

interface Op {
  summary: string;
  security?: unknown[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: JsonSchema }>;
  responses: Record<string, { description: string; content?: Record<string, { schema?: JsonSchema }> }>;
}

/** The part of JSON Schema the page renders (what zod's toJSONSchema and the answer schemas below use). */
interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  default?: unknown;
  description?: string;
  additionalProperties?: boolean | JsonSchema;
}

// --- answer shapes (what the routes in host/src/routes/ send) -----------------------------------------------
const str = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) });
const int = (description?: string): JsonSchema => ({ type: 'integer', ...(description ? { description } : {}) });
const obj = (properties: Record<string, JsonSchema>, optional: string[] = []): JsonSchema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
});
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const ANSWERS: Record<string, JsonSchema> = {
  Session: obj({
    accessToken: str('ES256 JWT, Authorization: Bearer …'),
    refreshToken: str('single use: POST /v1/auth/refresh'),
    expiresIn: int('seconds the access token is valid'),
    user: obj({ id: str('usr_ + 32 hex digits of SHA-256(issuer, 0x00, sub)'), email: str('the ID token’s email claim, or ""'), provider: str() }),
  }),
  Attestation: obj({
    document: str('base64 COSE_Sign1 attestation document (verify it before sealing to publicKey)'),
    publicKey: str('base64 X25519 key the PIN envelopes are sealed to'),
    pcrs: { type: 'object', description: '"0" … "8": hex SHA-384', additionalProperties: str() },
    mode: { enum: ['nitro', 'simulated'] },
    kdf: obj({ algorithm: str('argon2id'), memoryKiB: int(), iterations: int(), parallelism: int() }),
    expiresAt: str('ISO 8601'),
  }),
  Account: obj({ network: { enum: ['evm', 'solana', 'bitcoin'] }, index: int(), path: str('BIP-32 / SLIP-10 path'), address: str() }),
  Wallet: obj(
    {
      walletId: str(),
      accounts: { type: 'array', items: ref('Account') },
      createdAt: str('ISO 8601'),
      encryptedRecoveryCode: str('base64, only when recoveryPublicKey was sent: the recovery code sealed to it'),
    },
    ['encryptedRecoveryCode'],
  ),
  WalletList: obj({ wallets: { type: 'array', items: ref('Wallet') } }),
  Signature: {
    oneOf: [
      obj(
        {
          signature: str('EVM: 0x hex'),
          signedTransaction: str('0x hex, kind transaction only'),
          hash: str('0x transaction hash, kind transaction only'),
        },
        ['signedTransaction', 'hash'],
      ),
      obj({ signature: str('Solana: base58'), signedTransaction: str('base64, kind transaction only') }, ['signedTransaction']),
    ],
  },
  RecoveryPhrase: obj({ encryptedRecoveryPhrase: str('base64 HPKE ciphertext to recipientPublicKey') }),
  RecoveryCode: obj({ encryptedRecoveryCode: str('base64 HPKE ciphertext to recoveryPublicKey') }),
  Passkey: obj({ credentialId: str('the credential id added, base64url') }),
  Factors: obj({
    factors: {
      type: 'array',
      items: obj(
        {
          kind: str('pin, recovery-code or passkey'),
          credentialId: str('passkey: the credential id, base64url'),
          createdAt: str('ISO 8601, or null'),
          lastUsedAt: str('ISO 8601, or null'),
        },
        ['credentialId'],
      ),
    },
  }),
  Chains: obj({
    chains: {
      type: 'array',
      items: obj(
        {
          network: { enum: ['evm', 'solana'] },
          chainId: int('EVM'),
          cluster: str('Solana'),
          name: str(),
          nativeSymbol: str(),
          tokens: { type: 'array', items: obj({ address: str(), symbol: str(), decimals: int() }) },
        },
        ['chainId', 'cluster'],
      ),
    },
  }),
  Balances: obj({
    balances: {
      type: 'array',
      items: obj(
        {
          address: str(),
          asset: str('"native" or the token’s address'),
          symbol: str(),
          decimals: int(),
          amount: { type: ['string', 'null'], description: 'smallest unit, decimal; null when a token did not answer' },
          error: str('why amount is null'),
        },
        ['error'],
      ),
    },
  }),
  Prepared: obj(
    {
      network: { enum: ['evm', 'solana'] },
      chainId: int('EVM'),
      cluster: str('Solana'),
      address: str('the sending account'),
      transaction: { type: ['object', 'string'], description: 'EVM: the filled transaction object (as /sign takes it); Solana: base64 transaction' },
      digest: str('what the PIN envelope binds: check it yourself'),
    },
    ['chainId', 'cluster'],
  ),
  Sent: obj({ hash: str('transaction hash (EVM 0x hex, Solana base58 signature)'), signedTransaction: str() }),
  Health: obj({ status: { const: 'ok' } }),
  Ready: obj({ status: { const: 'ready' }, enclave: obj({ initialized: { type: 'boolean' }, version: str() }), storage: { enum: ['ok', 'none'] } }),
};

let cached: unknown;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached as Record<string, unknown>;
  const error = { description: 'error', content: { 'application/json': { schema: ref('Error') } } };
  const ok = (code: string, description: string, answer?: string) => ({
    [code]: { description, ...(answer ? { content: { 'application/json': { schema: ref(answer) } } } : {}) },
    default: error,
  });
  const walletId = { name: 'walletId', in: 'path', required: true, schema: { type: 'string' } };
  const paths: Record<string, Record<string, Op>> = {
    '/v1/auth/login': {
      post: {
        summary: 'Exchange an OIDC ID token of an issuer in AUTH_ISSUERS for session tokens (docs/login.md)',
        requestBody: body(S.loginBody),
        responses: ok('200', 'logged in', 'Session'),
      },
    },
    '/v1/auth/refresh': { post: { summary: 'Rotate the refresh token', requestBody: body(S.refreshBody), responses: ok('200', 'same as login', 'Session') } },
    '/v1/auth/logout': {
      post: {
        summary: 'End the bearer token’s session: its refresh token at once, its access tokens on every host within 5 s (TOKEN_REVOKED)',
        security: bearer,
        responses: ok('204', 'logged out, no body'),
      },
    },
    '/v1/enclave/attestation': {
      get: {
        summary: 'A fresh attestation document of the enclave',
        parameters: [{ name: 'nonce', in: 'query', schema: { type: 'string', pattern: '^([0-9a-fA-F]{2}){0,64}$' } }],
        responses: ok('200', 'the document and the key it attests', 'Attestation'),
      },
    },
    '/v1/wallets': {
      post: {
        summary: 'Create a wallet (envelope purpose create-wallet); with recoveryPublicKey, also a recovery code sealed to it',
        security: bearer,
        requestBody: body(S.createWalletBody),
        responses: ok('201', 'created', 'Wallet'),
      },
      get: { summary: 'The caller’s wallets', security: bearer, responses: ok('200', 'the wallets', 'WalletList') },
    },
    '/v1/wallets/import': {
      post: {
        summary: 'Restore a wallet from a recovery phrase (envelope purpose import)',
        security: bearer,
        requestBody: body(S.importBody),
        responses: ok('201', 'imported', 'Wallet'),
      },
    },
    '/v1/wallets/{walletId}': {
      get: { summary: 'One wallet', security: bearer, parameters: [walletId], responses: ok('200', 'the wallet', 'Wallet') },
    },
    '/v1/wallets/{walletId}/accounts': {
      post: {
        summary: 'Derive an account (envelope purpose derive-account)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.deriveAccountBody),
        responses: ok('201', 'the new account', 'Account'),
      },
    },
    '/v1/wallets/{walletId}/sign': {
      post: {
        summary: 'Sign a transaction, message or typed data (envelope purpose sign, bound to the signing account: network and address; docs/pin-envelope.md)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.signBody),
        responses: ok('200', 'signed', 'Signature'),
      },
    },
    '/v1/wallets/{walletId}/pin': {
      post: {
        summary: 'Change the PIN (envelope purpose change-pin)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.pinEnvelopeBody),
        responses: ok('204', 'changed, no body'),
      },
    },
    '/v1/wallets/{walletId}/recovery-code': {
      post: {
        summary: 'A new recovery code, sealed to recoveryPublicKey (the PIN approves it); the previous code stops working (docs/recovery.md)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.recoveryCodeBody),
        responses: ok('200', 'the new code, sealed', 'RecoveryCode'),
      },
    },
    '/v1/wallets/{walletId}/pin/reset': {
      post: {
        summary:
          'Set a new PIN with the recovery code, or a passkey (works while locked, ends the lock-out); answers the next code (with a passkey: only if recoveryPublicKey is given)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.resetPinBody),
        responses: ok('200', 'reset; the next code, sealed', 'RecoveryCode'),
      },
    },
    '/v1/wallets/{walletId}/passkeys': {
      post: {
        summary:
          'Add a passkey (envelope purpose add-passkey: the PIN or the recovery code, the new credential, its assertion and PRF output; docs/passkeys.md)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.pinEnvelopeBody),
        responses: ok('201', 'added', 'Passkey'),
      },
    },
    '/v1/wallets/{walletId}/passkeys/{credentialId}': {
      delete: {
        summary: 'Remove a passkey (envelope purpose remove-passkey, the PIN or a passkey; the PIN slot always stays)',
        security: bearer,
        parameters: [walletId, { name: 'credentialId', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' } }],
        requestBody: body(S.pinEnvelopeBody),
        responses: ok('204', 'removed, no body'),
      },
    },
    '/v1/wallets/{walletId}/factors': {
      get: {
        summary: 'The wallet’s factors (PIN, recovery code, passkeys) and when each was made and last used',
        security: bearer,
        parameters: [walletId],
        responses: ok('200', 'the factors', 'Factors'),
      },
    },
    '/v1/wallets/{walletId}/export': {
      post: {
        summary: 'Export the recovery phrase encrypted to the client’s key (envelope purpose export)',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.exportBody),
        responses: ok('200', 'the phrase, sealed', 'RecoveryPhrase'),
      },
    },
    '/v1/chains': {
      get: {
        summary: 'The chains this host reads and broadcasts to (CHAINS)',
        security: bearer,
        responses: ok('200', 'the chains', 'Chains'),
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
        responses: ok('200', 'the balances', 'Balances'),
      },
    },
    '/v1/wallets/{walletId}/transactions/prepare': {
      post: {
        summary:
          'Fill a transaction from the node: EVM nonce (pending), gas (+20 %), EIP-1559 or legacy fees; a Solana SOL transfer with the latest blockhash. Answers the digest to bind; check it yourself',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.prepareBody),
        responses: ok('200', 'prepared', 'Prepared'),
      },
    },
    '/v1/wallets/{walletId}/transactions/send': {
      post: {
        summary: 'Sign a transaction in the enclave (as /sign, kind transaction; Solana names its cluster) and hand it to the node once',
        security: bearer,
        parameters: [walletId],
        requestBody: body(S.sendBody),
        responses: ok('200', 'sent', 'Sent'),
      },
    },
    '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'alive', content: { 'application/json': { schema: ref('Health') } } } } } },
    '/readyz': {
      get: {
        summary: 'Readiness (enclave and storage)',
        responses: { '200': { description: 'ready', content: { 'application/json': { schema: ref('Ready') } } }, '503': error },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics, for operators: Authorization: Bearer METRICS_TOKEN, or loopback clients when no token is set and no proxy is trusted',
        responses: { '200': { description: 'text exposition format' }, '403': error },
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
        ...ANSWERS,
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

const resolve = (doc: Record<string, unknown>, pointer: string): JsonSchema | undefined => {
  let at: unknown = doc;
  for (const part of pointer.replace(/^#\//, '').split('/')) at = at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
  return at as JsonSchema | undefined;
};

/** What a scalar accepts, in words: `string, base64, at most 16384 characters`. */
function scalar(s: JsonSchema): string {
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  const notes: string[] = [];
  if (s.pattern) notes.push(`pattern ${s.pattern}`);
  if (s.minLength !== undefined && s.maxLength !== undefined) notes.push(`${s.minLength}–${s.maxLength} characters`);
  else if (s.maxLength !== undefined) notes.push(`at most ${s.maxLength} characters`);
  else if (s.minLength !== undefined) notes.push(`at least ${s.minLength} characters`);
  if (s.minimum !== undefined) notes.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) notes.push(`≤ ${s.maximum}`);
  if (s.default !== undefined) notes.push(`default ${JSON.stringify(s.default)}`);
  return (types.length ? types.join(' | ') : 'any') + (notes.length ? ` (${notes.join(', ')})` : '');
}

/**
 * A JSON Schema as a readable shape: objects as `{ key: type }` with `?` on optional keys, unions as
 * alternatives separated by `|`, `$ref`s resolved in the document (each at most once on a path).
 */
export function schemaShape(s: JsonSchema | undefined, doc: Record<string, unknown>, pad = '', seen: string[] = []): string {
  if (!s) return 'any';
  if (s.$ref) {
    const name = s.$ref.split('/').pop()!;
    if (seen.includes(name)) return name;
    return schemaShape(resolve(doc, s.$ref), doc, pad, [...seen, name]);
  }
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) {
    const shapes = alternatives.map((alt) => schemaShape(alt, doc, pad, seen));
    // Scalars on one line (`integer | string`); objects one after the other, each starting with `|`.
    return shapes.some((x) => x.includes('\n')) ? shapes.join(`\n${pad}| `) : shapes.join(' | ');
  }
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' | ');
  const types = Array.isArray(s.type) ? s.type : [s.type];
  if (types.includes('array') && s.items) return `${schemaShape(s.items, doc, pad, seen)}[]${s.maxItems !== undefined ? ` (at most ${s.maxItems})` : ''}`;
  if (types.includes('object') && s.properties) {
    const required = new Set(s.required ?? []);
    const lines = Object.entries(s.properties).map(([key, value]) => {
      const inner = schemaShape(value, doc, pad + '  ', seen);
      const note = value.description ? `  — ${value.description}` : '';
      return `${pad}  ${key}${required.has(key) ? '' : '?'}: ${inner}${note}`;
    });
    return `{\n${lines.join('\n')}\n${pad}}`;
  }
  if (types.includes('object') && typeof s.additionalProperties === 'object')
    return `{ [key: string]: ${schemaShape(s.additionalProperties, doc, pad, seen)} }`;
  return scalar(s);
}

/** A self-contained HTML reference rendered from the OpenAPI document: each operation's parameters, request body and answers (no scripts, so the strict CSP applies). */
export function renderDocsPage(doc: Record<string, unknown>): string {
  const paths = doc.paths as Record<string, Record<string, Op>>;
  const ops = Object.entries(paths).flatMap(([path, byMethod]) => Object.entries(byMethod).map(([method, op]) => ({ path, method, op })));
  const anchor = (method: string, path: string): string => `${method}-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
  const rows = ops
    .map(
      ({ path, method, op }) =>
        `<tr><td><code>${method.toUpperCase()}</code></td><td><a href="#${anchor(method, path)}"><code>${esc(path)}</code></a></td><td>${esc(op.summary)}</td><td>${op.security ? 'bearer' : '—'}</td></tr>`,
    )
    .join('\n');
  const sections = ops
    .map(({ path, method, op }) => {
      const parts = [`<section id="${anchor(method, path)}"><h3><code>${method.toUpperCase()} ${esc(path)}</code></h3><p>${esc(op.summary)}</p>`];
      parts.push(`<p>Authorization: ${op.security ? '<code>Bearer &lt;accessToken&gt;</code>' : 'none'}</p>`);
      if (op.parameters?.length)
        parts.push(
          `<h4>Parameters</h4><ul>${op.parameters.map((p) => `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', required' : ''}): ${esc(schemaShape(p.schema, doc))}</li>`).join('')}</ul>`,
        );
      const request = op.requestBody?.content?.['application/json']?.schema;
      if (request) parts.push(`<h4>Request body</h4><pre class="request">${esc(schemaShape(request, doc))}</pre>`);
      parts.push('<h4>Answers</h4>');
      for (const [status, answer] of Object.entries(op.responses)) {
        const schema = answer.content?.['application/json']?.schema;
        if (schema?.$ref === '#/components/schemas/Error') {
          parts.push(
            `<p><b>${esc(status)}</b> <code>{ "error": { "code", "message", "requestId" } }</code>, the code from <a href="#error-codes">Error codes</a></p>`,
          );
          continue;
        }
        parts.push(
          `<p><b>${esc(status)}</b> ${esc(answer.description)}</p>${schema ? `<pre class="answer" data-status="${esc(status)}">${esc(schemaShape(schema, doc))}</pre>` : ''}`,
        );
      }
      return parts.join('\n') + '</section>';
    })
    .join('\n');
  const codes = Object.entries(doc['x-error-codes'] as Record<string, number>)
    .map(([c, s]) => `<tr><td><code>${c}</code></td><td>${s}</td></tr>`)
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Enclave Wallet API</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}pre{background:#f6f6f6;padding:.5rem;overflow-x:auto;white-space:pre-wrap}section{border-top:1px solid #ccc;margin-top:1.5rem}</style></head>
<body><h1>Enclave Wallet API</h1><p>JSON over HTTP, rendered from <a href="/openapi.json">/openapi.json</a>. In the shapes below <code>?</code> marks an optional field and <code>|</code> separates alternatives. Errors are <code>{ "error": { "code", "message", "requestId" } }</code>.</p>
<h2>Endpoints</h2><table><tr><th>method</th><th>path</th><th>what</th><th>auth</th></tr>${rows}</table>
<h2>Operations</h2>${sections}
<h2 id="error-codes">Error codes</h2><table><tr><th>code</th><th>HTTP status</th></tr>${codes}</table></body></html>`;
}

/**
 * Request schemas of the HTTP API (SPEC §2–§3), in zod. The same schemas
 * validate requests and produce the OpenAPI document.
 */
import { z } from 'zod';
import { EnclaveWalletError, EVM_TX_TYPES, NETWORKS } from '@enclave-wallet/proto';

const base64 = (what: string, max = 16_384) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, `${what} must be base64`);
const hex0x = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x-prefixed hex bytes');
const uintString = z.union([
  z.string().regex(/^(0|[1-9][0-9]{0,77})$|^0x[0-9a-fA-F]{1,64}$/, 'must be a decimal or 0x-hex unsigned integer'),
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
]);
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte 0x address');

export const network = z.enum(NETWORKS);

export const loginBody = z.strictObject({ idToken: z.string().min(1).max(16_384) });
export const refreshBody = z.strictObject({
  refreshToken: z.string().min(1).max(200),
  /** The client's name for this refresh, the same on each of its tries, and the try (docs/api.md#sessions). */
  attempt: z
    .strictObject({
      id: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'attempt.id must be 22 to 64 base64url characters (16 random bytes or more)'),
      n: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    })
    .optional(),
});
export const attestationQuery = z.strictObject({
  nonce: z
    .string()
    .regex(/^([0-9a-fA-F]{2}){0,64}$/, 'nonce must be hex, at most 64 bytes')
    .optional(),
});
export const pinEnvelopeBody = z.strictObject({ pinEnvelope: base64('pinEnvelope') });
export const deriveAccountBody = z.strictObject({ network, index: z.number().int().min(0).max(0x7fffffff), pinEnvelope: base64('pinEnvelope') });
export const exportBody = z.strictObject({ pinEnvelope: base64('pinEnvelope'), recipientPublicKey: base64('recipientPublicKey', 64) });
export const importBody = z.strictObject({ recoveryEnvelope: base64('recoveryEnvelope'), recoveryPublicKey: base64('recoveryPublicKey', 64).optional() });
/** `POST /v1/wallets`: the PIN envelope, and optionally the client's key to seal a recovery code to. */
export const createWalletBody = z.strictObject({ pinEnvelope: base64('pinEnvelope'), recoveryPublicKey: base64('recoveryPublicKey', 64).optional() });
/** `POST …/recovery-code`: the PIN envelope and the key to seal the new code to. */
export const recoveryCodeBody = z.strictObject({ pinEnvelope: base64('pinEnvelope'), recoveryPublicKey: base64('recoveryPublicKey', 64) });
/** `POST …/pin/reset`: the envelope with the code and the new PIN, and the key to seal the next code to. */
export const resetPinBody = z.strictObject({ resetEnvelope: base64('resetEnvelope'), recoveryPublicKey: base64('recoveryPublicKey', 64).optional() });

export const evmTransaction = z.strictObject({
  type: z.enum(EVM_TX_TYPES).default('eip1559'),
  to: address.optional(),
  value: uintString.optional(),
  nonce: uintString,
  gas: uintString,
  gasPrice: uintString.optional(),
  maxFeePerGas: uintString.optional(),
  maxPriorityFeePerGas: uintString.optional(),
  data: hex0x.optional(),
  accessList: z
    .array(z.strictObject({ address, storageKeys: z.array(z.string().regex(/^0x[0-9a-fA-F]{64}$/)) }))
    .max(256)
    .optional(),
});

const chainId = z.union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[1-9][0-9]{0,15}$/)]);
const cluster = z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be a configured cluster name');
const solanaAddress = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, 'must be a base58 address');
const evmTransactionBody = z.strictObject({
  network: z.literal('evm'),
  address: address.optional(),
  kind: z.literal('transaction'),
  chainId,
  transaction: evmTransaction,
  pinEnvelope: base64('pinEnvelope'),
});

/** One object per (network, kind); a union, since `network` alone does not tell them apart. */
export const signBody = z.union([
  evmTransactionBody,
  z.strictObject({
    network: z.literal('evm'),
    address: address.optional(),
    kind: z.literal('message'),
    message: z.union([z.string().max(1024 * 1024), z.strictObject({ raw: hex0x })]),
    pinEnvelope: base64('pinEnvelope'),
  }),
  z.strictObject({
    network: z.literal('evm'),
    address: address.optional(),
    kind: z.literal('typed-data'),
    typedData: z.strictObject({
      domain: z.record(z.string(), z.unknown()),
      types: z.record(z.string(), z.unknown()),
      primaryType: z.string(),
      message: z.record(z.string(), z.unknown()),
    }),
    pinEnvelope: base64('pinEnvelope'),
  }),
  z.strictObject({
    network: z.literal('solana'),
    address: z.string().max(64).optional(),
    kind: z.enum(['transaction', 'message']),
    /** A transaction: the cluster it is for, when the PIN envelope names one (a send always does). */
    cluster: cluster.optional(),
    transaction: base64('transaction', 4096).optional(),
    message: base64('message', 128 * 1024).optional(),
    pinEnvelope: base64('pinEnvelope'),
  }),
]);
export type SignBody = z.infer<typeof signBody>;

/** `GET /v1/wallets/{id}/balances`: an EVM chain by id, or a Solana cluster by name. */
export const balancesQuery = z.union([
  z.strictObject({ network: z.literal('evm'), chainId: z.string().regex(/^[1-9][0-9]{0,15}$/, 'chainId must be a positive integer') }),
  z.strictObject({ network: z.literal('solana'), cluster }),
]);

/** `POST …/transactions/prepare`: a call or a transfer, from the wallet's account (index 0, or `address`). */
export const prepareBody = z.union([
  z.strictObject({
    network: z.literal('evm'),
    chainId,
    address: address.optional(),
    to: address,
    value: uintString.default('0'),
    data: hex0x.max(262_146).optional(),
  }),
  z.strictObject({ network: z.literal('solana'), cluster, address: solanaAddress.optional(), to: solanaAddress, value: uintString }),
]);
export type PrepareBody = z.infer<typeof prepareBody>;

/** `POST …/transactions/send`: a sign request of kind `transaction` (SPEC §3); Solana names its cluster. */
export const sendBody = z.union([
  evmTransactionBody,
  z.strictObject({
    network: z.literal('solana'),
    cluster,
    address: z.string().max(64).optional(),
    kind: z.literal('transaction'),
    transaction: base64('transaction', 4096),
    pinEnvelope: base64('pinEnvelope'),
  }),
]);
export type SendBody = z.infer<typeof sendBody>;

/** bodyFields by schema: a schema does not change, and listing its fields parses `undefined` with each of them. */
const bodyFieldsOf = new WeakMap<z.ZodType, string>();

/**
 * The top-level fields a body schema takes, for error messages: `a, b?` (`?`: optional, or absent from some
 * of a union's shapes).
 */
export function bodyFields(schema: z.ZodType): string {
  let fields = bodyFieldsOf.get(schema);
  if (fields === undefined) {
    fields = listBodyFields(schema);
    bodyFieldsOf.set(schema, fields);
  }
  return fields;
}
function listBodyFields(schema: z.ZodType): string {
  const shapes = schema instanceof z.ZodUnion ? (schema.options as z.ZodType[]) : [schema];
  const objects = shapes.filter((s): s is z.ZodObject => s instanceof z.ZodObject);
  const names = [...new Set(objects.flatMap((o) => Object.keys(o.shape)))];
  const required = (name: string) => objects.every((o) => o.shape[name] !== undefined && !(o.shape[name] as z.ZodType).safeParse(undefined).success);
  return names.map((n) => (required(n) ? n : `${n}?`)).join(', ');
}

/** What a request with a body tells about it: its headers and what the JSON parser made of it. */
export interface BodyRequest {
  headers: { 'content-type'?: string | undefined; 'content-length'?: string | undefined; 'transfer-encoding'?: string | undefined };
  body?: unknown;
}

/**
 * Parses a request's JSON body with `schema`. An empty body, one that is not a JSON object, or one sent
 * without `content-type: application/json` (which the JSON parser leaves alone) is refused with what the
 * route expects, rather than with a message about `undefined`.
 *
 * @throws {EnclaveWalletError} VALIDATION_FAILED; or the schema's ZodError
 */
export function parseBody<T>(schema: z.ZodType<T>, req: BodyRequest): T {
  // Only when refusing: a body that gets past these checks needs no message.
  const expected = (): string => `expected a JSON object with ${bodyFields(schema)}`;
  const length = req.headers['content-length'];
  const hasBytes = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (hasBytes) {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    // The parser (express.json) reads application/json only.
    if (type !== 'application/json')
      throw new EnclaveWalletError('VALIDATION_FAILED', `send content-type: application/json (${type ? `not ${type}` : 'none was sent'}); ${expected()}`);
  }
  const body = req.body;
  if (!hasBytes || body === undefined) throw new EnclaveWalletError('VALIDATION_FAILED', `the body is empty: ${expected()} (content-type: application/json)`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new EnclaveWalletError('VALIDATION_FAILED', `body: ${expected()}`);
  return (parserOf(schema) as (body: object) => T)(body);
}

/** How parseBody parses a body with a schema: `schema.parse`, or for a union of objects, unionParser's. */
const parsers = new WeakMap<z.ZodType, (body: object) => unknown>();
function parserOf(schema: z.ZodType): (body: object) => unknown {
  let parser = parsers.get(schema);
  if (parser === undefined) {
    parser = unionParser(schema) ?? ((body: object) => schema.parse(body));
    parsers.set(schema, parser);
  }
  return parser;
}

/**
 * For a plain union (z.union, no checks of its own) of objects: parses a body as `union.parse` does (the
 * value of its first option that accepts it; when none does, the union's own error, thrown by
 * `union.parse`), without running the options that cannot accept it. An option cannot when the body's value
 * of one of its required literal or enum fields (`network`, `kind`) is not one of that field's values; the
 * others are tried in order. A signature request for an EVM message no longer runs the EVM transaction's
 * checks (its PIN envelope's among them) first, only to discard them. Undefined for any other schema.
 */
export function unionParser(schema: z.ZodType): ((body: object) => unknown) | undefined {
  const def = schema._zod.def as z.core.$ZodUnionDef & { checks?: unknown[]; discriminator?: unknown };
  if (!(schema instanceof z.ZodUnion) || def.type !== 'union' || def.inclusive === false || def.discriminator !== undefined || def.checks?.length)
    return undefined;
  const options = def.options as readonly z.ZodType[];
  if (!options.every((o) => o instanceof z.ZodObject)) return undefined;
  const fixed = options.map((o) =>
    Object.entries((o as z.ZodObject).shape as Record<string, z.ZodType>).flatMap(([key, field]) => {
      const type = field._zod.def.type;
      const values = field._zod.values;
      return (type === 'literal' || type === 'enum') && values ? [{ key, values }] : [];
    }),
  );
  return (body) => {
    for (let i = 0; i < options.length; i++) {
      if (!fixed[i]!.every(({ key, values }) => values.has((body as Record<string, unknown>)[key] as never))) continue;
      const result = options[i]!.safeParse(body);
      if (result.success) return result.data;
    }
    return schema.parse(body);
  };
}

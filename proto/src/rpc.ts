/**
 * The operations of the host ↔ enclave protocol and the types of their
 * requests and answers, shared by the RPC client (rpc-client.ts) and
 * server (rpc-server.ts).
 */
import type { v1 } from './messages.js';

/** Every operation of the schema, by its field name in both envelopes. */
export const OPERATIONS = [
  'init',
  'health',
  'getAttestation',
  'createWallet',
  'deriveAccount',
  'sign',
  'changePin',
  'export',
  'import',
  'updateCredentials',
  'newRecoveryCode',
  'resetPin',
  'listFactors',
  'addPasskey',
  'removePasskey',
] as const;

/** One operation's name. */
export type OperationName = (typeof OPERATIONS)[number];
/** What a caller passes for an operation. */
export type RequestOf<K extends OperationName> = NonNullable<v1.HostRequest.$Properties[K]>;
/** What a handler receives for an operation (decoded, defaults filled in). */
export type DecodedRequestOf<K extends OperationName> = NonNullable<v1.HostRequest[K]>;
/** What an operation answers with. */
export type ResponseOf<K extends OperationName> = NonNullable<v1.EnclaveResponse.$Properties[K]>;

/** Default time an answer may take. Argon2id and KMS round trips stay well below it. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default cap on concurrent requests per connection on the server side. */
export const DEFAULT_MAX_IN_FLIGHT = 32;

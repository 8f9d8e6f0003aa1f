/**
 * @enclave-wallet/proto: the only code the host and the enclave share.
 */
export * from './messages.js';
export * from './errors.js';
export * from './framing.js';
export * from './address.js';
export * from './transport/index.js';
export * from './rpc.js';
export * from './rpc-client.js';
export * from './rpc-server.js';
export * from './enums.js';
export { PIN_ENVELOPE_INFO, RECOVERY_PHRASE_INFO, RECOVERY_CODE_INFO } from './labels.js';
export * from './recovery-code.js';

/**
 * The HPKE `info` labels of the PIN envelope protocol (docs/pin-envelope.md),
 * defined once for both sides: the client seals with them, the enclave opens
 * with them. Importable alone as `@enclave-wallet/proto/labels` (no protobuf
 * code comes with it). The SDK, published on its own, ships a verbatim copy
 * (client/src/proto-copy/, by client/scripts/sync-proto-copy.mjs; a contract test
 * fails while the copy differs).
 */

/** HPKE `info` of PIN envelopes (client → enclave). */
export const PIN_ENVELOPE_INFO: Uint8Array = new TextEncoder().encode('enclave-wallet/pin-envelope/v1');
/** HPKE `info` of exported recovery phrases (enclave → client). */
export const RECOVERY_PHRASE_INFO: Uint8Array = new TextEncoder().encode('enclave-wallet/recovery-phrase/v1');
/** HPKE `info` of recovery codes sealed to the user's recovery key (enclave → client). */
export const RECOVERY_CODE_INFO: Uint8Array = new TextEncoder().encode('enclave-wallet/recovery-code/v1');

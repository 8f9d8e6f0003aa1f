/** @enclave-wallet/devtools: development stand-ins. Never deploy. */
export { LocalKms, LOCAL_KMS_CREDENTIALS, type LocalKmsOptions } from './kms/server.js';
export { buildCiphertextForRecipient } from './kms/cms-builder.js';
export { isAllowed, type KeyPolicy } from './kms/policy.js';
export { DevIssuer, DEV_AUDIENCE } from './oidc/issuer.js';
export { LOCAL_WALLET_KEY_POLICY } from './kms/local-key.js';
export { ensureGuardTable, encryptGuardCredentials, prepareLocalGuard, LOCAL_GUARD_CREDENTIALS, LOCAL_GUARD_TABLE } from './guard.js';
export { LocalSolana, TOKEN_PROGRAM, type LocalSolanaOptions } from './solana/server.js';
export { SimulatedNsm, measureCode, loadOrCreateDevCa, readDevRoot, type SimulatedNsmOptions } from './nsm/index.js';
export { FrameServer, frameContentSecurityPolicy, type FrameServerOptions } from './frame/server.js';

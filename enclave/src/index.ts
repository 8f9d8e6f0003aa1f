/** @enclave-wallet/enclave: the trusted half, as a library for tests and the entry point. */
export * from './log.js';
export * from './server.js';
export * from './config.js';
export { EnclaveService } from './service.js';
export { checkAttestationRequest, PlatformError, type AttestationRequest, type Platform, type PlatformMode } from './platform/types.js';
export { createPlatform, ENCLAVE_CODE_DIR, SIMULATED_NSM_MODULE, ALLOW_SIMULATED_IN_PRODUCTION, NitroNsm } from './platform/index.js';

/** @enclave-wallet/enclave: the trusted half, as a library for tests and the entry point. */
export * from './log.js';
export * from './server.js';
export * from './config.js';
export { EnclaveService } from './service.js';

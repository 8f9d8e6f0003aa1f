/**
 * @enclave-wallet/client: the SDK an app uses (SPEC §9). Its browser entry
 * uses no Node built-ins.
 */
export * from './attestation/index.js';

/** The SDK's version. */
export const CLIENT_VERSION = '0.1.0';
export { hpkeOpen, hpkeSeal, wireOf } from './hpke.js';

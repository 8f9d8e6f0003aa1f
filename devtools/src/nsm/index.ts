/**
 * The simulated NSM and its development CA: what the enclave loads in
 * simulated mode (`@enclave-wallet/devtools/nsm`, a dynamic import in
 * enclave/src/platform/index.ts). Not in the enclave image: a Nitro build
 * cannot even load it.
 */
export { SimulatedNsm, measureCode, type SimulatedNsmOptions } from './simulated.js';
export { loadOrCreateDevCa, readDevRoot, DEV_ROOT_CN, DEV_INTERMEDIATE_CN, type DevCa } from './dev-ca.js';

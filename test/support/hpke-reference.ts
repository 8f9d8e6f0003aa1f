/** The client's HPKE, which tests use as the independent implementation (it shares no code with the enclave's). */
export { hpkeOpen, hpkeSeal, wireOf } from '../../client/src/hpke.js';

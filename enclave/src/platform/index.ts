/**
 * Picks the platform. The simulated NSM is a development tool and is refused:
 * - whenever /dev/nsm exists (this is a real enclave), and
 * - when NODE_ENV=production, unless ENCLAVE_ALLOW_SIMULATED_NSM carries the
 *   exact dangerous-sounding value below (for staging tests only).
 */
import { existsSync } from 'node:fs';
import { NitroNsm, NSM_DEVICE } from './nitro.js';
import { SimulatedNsm } from './simulated.js';
import { PlatformError, type Platform, type PlatformMode } from './types.js';

export * from './types.js';
export { NitroNsm } from './nitro.js';
export { SimulatedNsm, measureCode } from './simulated.js';
export { loadOrCreateDevCa, readDevRoot } from './dev-ca.js';

/** The only value of ENCLAVE_ALLOW_SIMULATED_NSM that enables the simulator in a production build. */
export const ALLOW_SIMULATED_IN_PRODUCTION = 'i-understand-keys-are-not-protected';

export interface PlatformSelection {
  mode: PlatformMode;
  /** Dev CA folder for the simulated NSM. */
  devCaDir: string;
  env?: NodeJS.ProcessEnv;
  deviceExists?: (path: string) => boolean;
}

export function createPlatform(selection: PlatformSelection): Platform {
  const env = selection.env ?? process.env;
  const deviceExists = selection.deviceExists ?? existsSync;
  if (selection.mode === 'nitro') return new NitroNsm(undefined, deviceExists);
  if (deviceExists(NSM_DEVICE)) {
    throw new PlatformError(`refusing the simulated NSM: ${NSM_DEVICE} exists, so this is a real enclave; use nitro mode`);
  }
  if (env.NODE_ENV === 'production' && env.ENCLAVE_ALLOW_SIMULATED_NSM !== ALLOW_SIMULATED_IN_PRODUCTION) {
    throw new PlatformError('refusing the simulated NSM in a production build (NODE_ENV=production)');
  }
  return new SimulatedNsm({ caDir: selection.devCaDir });
}

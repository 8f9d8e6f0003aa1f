/**
 * Picks the platform. The simulated NSM is a development tool that is not
 * part of this package (it lives in devtools/, which the enclave image does
 * not hold); it is loaded by a dynamic import in simulated mode only, and
 * refused:
 * - whenever /dev/nsm exists (this is a real enclave), and
 * - when NODE_ENV=production, unless ENCLAVE_ALLOW_SIMULATED_NSM carries the
 *   exact dangerous-sounding value below (for staging tests only).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NitroNsm, NSM_DEVICE } from './nitro.js';
import { PlatformError, type Platform, type PlatformMode } from './types.js';

export * from './types.js';
export { NitroNsm } from './nitro.js';

/** Where the simulated NSM comes from: a development package, absent from the enclave image. */
export const SIMULATED_NSM_MODULE = '@enclave-wallet/devtools/nsm';
/** The enclave's code (dist/ when built, src/ under tests): what the simulated NSM measures into PCR0. */
export const ENCLAVE_CODE_DIR = fileURLToPath(new URL('../', import.meta.url));

/** The only value of ENCLAVE_ALLOW_SIMULATED_NSM that enables the simulator in a production build. */
export const ALLOW_SIMULATED_IN_PRODUCTION = 'i-understand-keys-are-not-protected';

export interface PlatformSelection {
  mode: PlatformMode;
  /** Dev CA folder for the simulated NSM. */
  devCaDir: string;
  env?: NodeJS.ProcessEnv;
  deviceExists?: (path: string) => boolean;
}

export async function createPlatform(selection: PlatformSelection): Promise<Platform> {
  const env = selection.env ?? process.env;
  const deviceExists = selection.deviceExists ?? existsSync;
  if (selection.mode === 'nitro') return new NitroNsm(undefined, deviceExists);
  if (deviceExists(NSM_DEVICE)) {
    throw new PlatformError(`refusing the simulated NSM: ${NSM_DEVICE} exists, so this is a real enclave; use nitro mode`);
  }
  if (env.NODE_ENV === 'production' && env.ENCLAVE_ALLOW_SIMULATED_NSM !== ALLOW_SIMULATED_IN_PRODUCTION) {
    throw new PlatformError('refusing the simulated NSM in a production build (NODE_ENV=production)');
  }
  let simulated: { SimulatedNsm: new (options: { caDir: string; codeDirs: string[] }) => Platform };
  try {
    // A variable specifier: the compiler does not follow it, and no build of the enclave includes it.
    const specifier: string = SIMULATED_NSM_MODULE;
    simulated = (await import(specifier)) as typeof simulated;
  } catch {
    throw new PlatformError(
      `the simulated NSM is not installed here (${SIMULATED_NSM_MODULE} is a development package, not part of the enclave image); use nitro mode`,
    );
  }
  return new simulated.SimulatedNsm({ caDir: selection.devCaDir, codeDirs: [ENCLAVE_CODE_DIR] });
}

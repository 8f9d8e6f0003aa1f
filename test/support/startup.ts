/** The simulated-mode start-up configuration the tests run the enclave with (kept out of enclave/src, so out of the image). */
import { loadStartupConfig, type StartupConfig } from '@enclave-wallet/enclave';

/** A simulated-mode configuration, with the dev CA under `devCaDir`. */
export function testStartupConfig(devCaDir: string): StartupConfig {
  return loadStartupConfig({ ENCLAVE_PLATFORM: 'simulated', ENCLAVE_DEV_CA_DIR: devCaDir });
}

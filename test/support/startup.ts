/** The simulated-mode start-up configuration the tests run the enclave with (kept out of enclave/src, so out of the image). */
import { loadStartupConfig, type StartupConfig } from '@enclave-wallet/enclave';

/** A simulated-mode configuration, with the dev CA under `devCaDir`, and what `env` adds (ENCLAVE_* settings). */
export function testStartupConfig(devCaDir: string, env: NodeJS.ProcessEnv = {}): StartupConfig {
  return loadStartupConfig({ ...env, ENCLAVE_PLATFORM: 'simulated', ENCLAVE_DEV_CA_DIR: devCaDir });
}

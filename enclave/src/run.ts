/**
 * The enclave process (started by main.ts). Configuration from the environment
 * (see config.ts): ENCLAVE_PLATFORM (simulated | nitro), ENCLAVE_LISTEN,
 * ENCLAVE_DEV_CA_DIR, ENCLAVE_KMS_KEY_ID, LOG_LEVEL.
 */
import { loadStartupConfig } from './config.js';
import { createLogger } from './log.js';
import { createEnclaveService, startEnclaveServer } from './server.js';

const logger = createLogger(process.env.LOG_LEVEL === 'debug' ? 'debug' : 'info');

try {
  const startup = loadStartupConfig(process.env);
  const service = await createEnclaveService(startup);
  const server = await startEnclaveServer({ listen: startup.listen, logger, service });
  const pcr0 = Buffer.from(service.identity().pcrs?.[0] ?? new Uint8Array(0)).toString('hex');
  logger.info('listening', { address: server.address, mode: startup.mode, pcr0 });
  const stop = (): void => {
    logger.info('stopping');
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  logger.error('start_failed', { reason: (err as Error).message });
  process.exit(1);
}

/**
 * Entry point of the enclave process. Reads its listen address from
 * ENCLAVE_LISTEN (default tcp://127.0.0.1:5005) and serves until stopped.
 */
import { createLogger } from './log.js';
import { startEnclaveServer } from './server.js';

const logger = createLogger(process.env.LOG_LEVEL === 'debug' ? 'debug' : 'info');
const listen = process.env.ENCLAVE_LISTEN ?? `tcp://127.0.0.1:${process.env.ENCLAVE_PORT ?? '5005'}`;

try {
  const server = await startEnclaveServer({ listen, logger });
  logger.info('listening', { address: server.address });
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

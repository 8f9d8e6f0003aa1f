/**
 * Entry point of the host process. Configuration from the environment:
 * HOST_PORT (8080), HOST_BIND (127.0.0.1), ENCLAVE_ADDRESS (tcp://127.0.0.1:5005).
 */
import { pino } from 'pino';
import { createApp } from './app.js';
import { EnclaveClient } from './enclave-client.js';

const log = pino({ base: { component: 'host' } });
const port = Number(process.env.HOST_PORT ?? '8080');
const bind = process.env.HOST_BIND ?? '127.0.0.1';
const enclave = new EnclaveClient({ address: process.env.ENCLAVE_ADDRESS ?? `tcp://127.0.0.1:${process.env.ENCLAVE_PORT ?? '5005'}` });

const server = createApp({ enclave }).listen(port, bind, () => {
  log.info({ url: `http://${bind}:${port}` }, 'listening');
});
const stop = (): void => {
  enclave.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

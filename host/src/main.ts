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
const env = process.env;
// KMS configuration and credentials for the enclave. On EC2 the credentials
// come from the instance role (IMDSv2, to come with the Nitro deployment);
// locally from the environment the launcher sets.
const init =
  env.KMS_KEY_ID && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? () => ({
        kmsRegion: env.KMS_REGION ?? env.AWS_REGION ?? 'us-east-1',
        kmsEndpoint: env.KMS_ENDPOINT ?? '',
        kmsKeyId: env.KMS_KEY_ID!,
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY!, sessionToken: env.AWS_SESSION_TOKEN ?? '' },
      })
    : undefined;
if (!init) log.warn('KMS_KEY_ID or AWS credentials not set: the enclave will not be initialised (wallet operations unavailable)');
const enclave = new EnclaveClient({ address: env.ENCLAVE_ADDRESS ?? `tcp://127.0.0.1:${env.ENCLAVE_PORT ?? '5005'}`, init });

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

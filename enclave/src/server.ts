/**
 * The enclave's RPC server: every schema operation, served over the
 * transport by EnclaveService. Errors that are not product errors are logged
 * by class name only (their messages could quote input) and answered as
 * INTERNAL_ERROR.
 */
import { startRpcServer, type Handlers, type RpcServer } from '@enclave-wallet/proto';
import { loadStartupConfig, type StartupConfig } from './config.js';
import { EnvelopeKey } from './envelope/hpke.js';
import type { Logger } from './log.js';
import { createPlatform } from './platform/index.js';
import type { Platform } from './platform/types.js';
import { EnclaveService } from './service.js';

export { ENCLAVE_VERSION } from './service.js';

export interface EnclaveServerOptions {
  /** `tcp://…` locally, `vsock://…` on Nitro. */
  listen: string;
  logger: Logger;
  service: EnclaveService;
}

/** Makes the service with its start-up keys: the envelope key (X25519) and the KMS recipient key (RSA-2048). */
export async function createEnclaveService(startup: StartupConfig, platform: Platform = createPlatform({ mode: startup.mode, devCaDir: startup.devCaDir })): Promise<EnclaveService> {
  return new EnclaveService({ startup, platform, envelopeKey: await EnvelopeKey.generate() });
}

/** A simulated-mode service for tests and local tools, with its dev CA under `devCaDir`. */
export function testStartupConfig(devCaDir: string): StartupConfig {
  return loadStartupConfig({ ENCLAVE_PLATFORM: 'simulated', ENCLAVE_DEV_CA_DIR: devCaDir });
}

/** Starts serving; resolves once listening. */
export async function startEnclaveServer(options: EnclaveServerOptions): Promise<RpcServer> {
  const s = options.service;
  const handlers: Handlers = {
    init: (body) => s.init(body),
    health: () => s.health(),
    getAttestation: (body) => s.getAttestation(body),
    createWallet: (body) => s.createWallet(body),
    deriveAccount: (body) => s.deriveAccount(body),
    sign: (body) => s.sign(body),
    changePin: (body) => s.changePin(body),
    export: (body) => s.export(body),
    import: (body) => s.import(body),
    updateCredentials: (body) => s.updateCredentials(body),
  };
  return startRpcServer(options.listen, handlers, {
    onInternalError: (err, operation) =>
      options.logger.error('internal_error', { operation: operation ?? 'none', errorClass: (err as Error)?.constructor?.name ?? typeof err }),
    onConnectionClosed: (reason) => options.logger.debug('connection_closed', { reason: reason?.name ?? 'end' }),
  });
}

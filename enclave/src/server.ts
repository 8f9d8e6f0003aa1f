/**
 * The enclave's RPC server: one handler per operation of the schema.
 * Operations that need keys arrive with the enclave issue; until then they
 * answer UNSUPPORTED_OPERATION through the RPC layer.
 */
import { startRpcServer, type Handlers, type RpcServer } from '@enclave-wallet/proto';
import type { Logger } from './log.js';

/** The enclave software version reported in health answers. */
export const ENCLAVE_VERSION = '0.1.0';

export interface EnclaveServerOptions {
  /** `tcp://…` locally, `vsock://…` on Nitro. */
  listen: string;
  logger: Logger;
}

/** Starts serving; resolves once listening. */
export async function startEnclaveServer(options: EnclaveServerOptions): Promise<RpcServer> {
  const started = Date.now();
  const handlers: Handlers = {
    async health() {
      return { initialized: false, uptimeMs: Date.now() - started, identity: { version: ENCLAVE_VERSION } };
    },
  };
  return startRpcServer(options.listen, handlers, {
    onInternalError: (err, operation) =>
      // Only the error's class name: its message could quote input.
      options.logger.error('internal_error', { operation: operation ?? 'none', errorClass: (err as Error)?.constructor?.name ?? typeof err }),
    onConnectionClosed: (reason) => options.logger.debug('connection_closed', { reason: reason?.name ?? 'end' }),
  });
}

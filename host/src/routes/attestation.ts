/** The enclave’s attestation document, for clients to verify before they seal a PIN. */
import type { Express } from 'express';
import { EnclaveWalletError, v1 } from '@enclave-wallet/proto';
import * as S from '../api/schemas.js';
import { WorkGate } from '../api/work-gate.js';
import { HOST_LIMIT_DEFAULTS } from '../config.js';
import { traced, type RouteContext } from './context.js';

const ATTESTATION_CACHE_MS = 10_000;

export function mountAttestation(app: Express, ctx: RouteContext): void {
  const { deps, route } = ctx;
  const attestationCache = new Map<string, { at: number; body: unknown }>();
  // A fresh document is synchronous work on the enclave's event loop (which signing shares): bounded for the
  // whole host, whoever asks, on top of the per-address limits.
  const gate = new WorkGate(
    deps.attestation?.concurrency ?? HOST_LIMIT_DEFAULTS.attestationConcurrency,
    deps.rateLimits === false ? undefined : (deps.attestation?.ratePerSecond ?? HOST_LIMIT_DEFAULTS.attestationRate),
  );
  // --- attestation -----------------------------------------------------------
  app.get(
    '/v1/enclave/attestation',
    route(async (req, res) => {
      const query = S.attestationQuery.safeParse(req.query);
      if (!query.success) throw new EnclaveWalletError('NONCE_INVALID', 'nonce must be hex, at most 64 bytes');
      const nonce = (query.data.nonce ?? '').toLowerCase();
      const cached = attestationCache.get(nonce);
      if (cached && Date.now() - cached.at < ATTESTATION_CACHE_MS) {
        res.json(cached.body);
        return;
      }
      const answer = await gate.run(() => deps.enclave.call('getAttestation', { nonce: Buffer.from(nonce, 'hex') }, traced(res)));
      const id = answer.identity ?? {};
      const pcrs: Record<string, string> = {};
      for (let i = 0; i <= 8; i++) pcrs[String(i)] = Buffer.from(id.pcrs?.[i] ?? new Uint8Array(48)).toString('hex');
      const body = {
        document: Buffer.from(answer.document ?? []).toString('base64'),
        publicKey: Buffer.from(id.envelopePublicKey ?? []).toString('base64'),
        pcrs,
        mode: id.mode === v1.PlatformMode.PLATFORM_MODE_NITRO ? 'nitro' : 'simulated',
        kdf: {
          algorithm: id.kdf?.algorithm ?? 'argon2id',
          memoryKiB: id.kdf?.memoryKib ?? 0,
          iterations: id.kdf?.iterations ?? 0,
          parallelism: id.kdf?.parallelism ?? 0,
        },
        expiresAt: new Date(answer.expiresAtMs ?? Date.now()).toISOString(),
      };
      if (attestationCache.size > 1000) attestationCache.clear();
      attestationCache.set(nonce, { at: Date.now(), body });
      res.json(body);
    }),
  );
}

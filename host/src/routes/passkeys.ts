/** Passkeys of a wallet (docs/passkeys.md): add one (the PIN or the recovery code authorises it), remove one. */
import type { Express } from 'express';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import * as S from '../api/schemas.js';
import { BODY_LIMITS } from '../api/body.js';
import { b64, traced } from './context.js';
import type { RouteContext } from './context.js';

/** A credential id in a path: base64url without padding, 1 to 255 bytes. */
function credentialIdOf(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]{2,340}$/.test(text) || text.length % 4 === 1)
    throw new EnclaveWalletError('VALIDATION_FAILED', 'credentialId must be base64url (no padding)');
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

export function mountPasskeys(app: Express, ctx: RouteContext): void {
  const { deps, walletRoute, withWallet } = ctx;
  app.post(
    '/v1/wallets/:walletId/passkeys',
    walletRoute(S.pinEnvelopeBody, BODY_LIMITS.small, async ({ userId, body, wallet, res }) => {
      const out = await withWallet(
        wallet,
        () =>
          deps.enclave.call(
            'addPasskey',
            { userId, walletId: wallet.walletId, sealedBlob: wallet.sealedBlob, pinEnvelope: b64(body.pinEnvelope) },
            traced(res),
          ),
        undefined,
        // The guard already holds the new blob: a lost race here only delays the host's copy, which the next operation heals.
        'ignore',
      );
      res.status(201).json({ credentialId: out.credentialId ?? '' });
    }),
  );
  app.delete(
    '/v1/wallets/:walletId/passkeys/:credentialId',
    walletRoute(S.pinEnvelopeBody, BODY_LIMITS.small, async ({ userId, body, wallet, req, res }) => {
      const credentialId = credentialIdOf(String(req.params.credentialId));
      await withWallet(
        wallet,
        () =>
          deps.enclave.call(
            'removePasskey',
            {
              userId,
              walletId: wallet.walletId,
              sealedBlob: wallet.sealedBlob,
              pinEnvelope: b64(body.pinEnvelope),
              credentialId,
            },
            traced(res),
          ),
        undefined,
        'ignore',
      );
      res.status(204).end();
    }),
  );
}

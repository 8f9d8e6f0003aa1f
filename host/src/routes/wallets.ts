/** Wallets: create, import, list, get, derive an account, change the PIN, export. */
import type { Express } from 'express';
import { EnclaveWalletError, networkToProto } from '@enclave-wallet/proto';
import * as S from '../api/schemas.js';
import type { Account } from '../storage/index.js';
import { b64, publicWallet, toAccount } from './context.js';
import type { RouteContext } from './context.js';

export function mountWallets(app: Express, ctx: RouteContext): void {
  const { deps, route, walletRoute, need, authenticate, loadWallet, withWallet, newWallet } = ctx;
  // --- wallets ---------------------------------------------------------------
  app.post(
    '/v1/wallets',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const { pinEnvelope } = S.parseBody(S.pinEnvelopeBody, req);
      res.status(201).json(await newWallet(userId, (walletId) => deps.enclave.call('createWallet', { userId, walletId, pinEnvelope: b64(pinEnvelope) })));
    }),
  );
  app.post(
    '/v1/wallets/import',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const { recoveryEnvelope } = S.parseBody(S.importBody, req);
      res.status(201).json(await newWallet(userId, (walletId) => deps.enclave.call('import', { userId, walletId, recoveryEnvelope: b64(recoveryEnvelope) })));
    }),
  );
  app.get(
    '/v1/wallets',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      res.json({ wallets: (await need(deps.store, 'storage').wallets.list(userId)).map(publicWallet) });
    }),
  );
  app.get(
    '/v1/wallets/:walletId',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      res.json(publicWallet(await loadWallet(userId, String(req.params.walletId))));
    }),
  );
  app.post(
    '/v1/wallets/:walletId/accounts',
    walletRoute(S.deriveAccountBody, async ({ userId, body, wallet, res }) => {
      if (wallet.accounts.some((a) => a.network === body.network && a.index === body.index))
        throw new EnclaveWalletError('ACCOUNT_EXISTS', 'the wallet already has this account');
      let account: Account | undefined;
      await withWallet(
        wallet,
        () =>
          deps.enclave.call('deriveAccount', {
            userId,
            walletId: wallet.walletId,
            sealedBlob: wallet.sealedBlob,
            pinEnvelope: b64(body.pinEnvelope),
            network: networkToProto(body.network),
            index: body.index,
          }),
        (w, out) => {
          account = toAccount(out.account ?? {});
          return need(deps.store, 'storage').wallets.update(w, out.sealedBlob?.length ? out.sealedBlob : w.sealedBlob, [...w.accounts, account]);
        },
        'fail',
      );
      res.status(201).json(account);
    }),
  );
  app.post(
    '/v1/wallets/:walletId/pin',
    walletRoute(S.pinEnvelopeBody, async ({ userId, body: { pinEnvelope }, wallet, res }) => {
      // The guard already holds the new blob as the current version: a lost race here only delays the host's copy, which the next operation heals.
      await withWallet(
        wallet,
        () => deps.enclave.call('changePin', { userId, walletId: wallet.walletId, sealedBlob: wallet.sealedBlob, pinEnvelope: b64(pinEnvelope) }),
        undefined,
        'ignore',
      );
      res.status(204).end();
    }),
  );
  app.post(
    '/v1/wallets/:walletId/export',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const body = S.parseBody(S.exportBody, req);
      const recipientPublicKey = b64(body.recipientPublicKey);
      if (recipientPublicKey.length !== 32) throw new EnclaveWalletError('RECIPIENT_KEY_INVALID', 'recipientPublicKey must be a 32-byte X25519 key');
      const wallet = await loadWallet(userId, String(req.params.walletId));
      const out = await withWallet(
        wallet,
        () =>
          deps.enclave.call('export', {
            userId,
            walletId: wallet.walletId,
            sealedBlob: wallet.sealedBlob,
            pinEnvelope: b64(body.pinEnvelope),
            recipientPublicKey,
          }),
        undefined,
        'ignore',
      );
      res.json({ encryptedRecoveryPhrase: Buffer.from(out.encryptedRecoveryPhrase ?? []).toString('base64') });
    }),
  );
}

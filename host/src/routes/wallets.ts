/** Wallets: create, import, list, get, derive an account, change the PIN, export. */
import type { Express } from 'express';
import { EnclaveWalletError, networkToProto } from '@enclave-wallet/proto';
import * as S from '../api/schemas.js';
import { HOST_LIMIT_DEFAULTS } from '../config.js';
import { BODY_LIMITS } from '../api/body.js';
import type { Account, WalletRecord } from '../storage/index.js';
import { b64, publicWallet, toAccount, traced } from './context.js';
import type { RouteContext } from './context.js';
import type { UserId } from '@enclave-wallet/proto/ids';

export function mountWallets(app: Express, ctx: RouteContext): void {
  const { deps, route, walletRoute, need, authenticate, body: readBody, loadWallet, withWallet, newWallet } = ctx;
  const maxWallets = deps.maxWalletsPerUser ?? HOST_LIMIT_DEFAULTS.maxWalletsPerUser;
  const maxAccounts = deps.maxAccountsPerWallet ?? HOST_LIMIT_DEFAULTS.maxAccountsPerWallet;
  /** Before the enclave is asked to make a wallet: the user's count (read, so two creates at once may both pass at the cap's edge). */
  const roomForWallet = async (userId: UserId): Promise<void> => {
    if ((await need(deps.store, 'storage').wallets.count(userId)) >= maxWallets)
      throw new EnclaveWalletError('FORBIDDEN', `a user may have at most ${maxWallets} wallets`);
  };
  // --- wallets ---------------------------------------------------------------
  app.post(
    '/v1/wallets',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const { pinEnvelope, recoveryPublicKey } = await readBody(S.createWalletBody, req, BODY_LIMITS.small);
      await roomForWallet(userId);
      res
        .status(201)
        .json(
          await newWallet(userId, (walletId) =>
            deps.enclave.call('createWallet', { userId, walletId, pinEnvelope: b64(pinEnvelope), ...recoveryKey(recoveryPublicKey) }, traced(res)),
          ),
        );
    }),
  );
  app.post(
    '/v1/wallets/import',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const { recoveryEnvelope, recoveryPublicKey } = await readBody(S.importBody, req, BODY_LIMITS.small);
      await roomForWallet(userId);
      res
        .status(201)
        .json(
          await newWallet(userId, (walletId) =>
            deps.enclave.call('import', { userId, walletId, recoveryEnvelope: b64(recoveryEnvelope), ...recoveryKey(recoveryPublicKey) }, traced(res)),
          ),
        );
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
    walletRoute(S.deriveAccountBody, BODY_LIMITS.small, async ({ userId, body, wallet, res }) => {
      if (wallet.accounts.some((a) => a.network === body.network && a.index === body.index))
        throw new EnclaveWalletError('ACCOUNT_EXISTS', 'the wallet already has this account');
      // Every account is read by a balances request (1 + 3 × tokens node calls each on EVM): bounded per wallet.
      if (wallet.accounts.length >= maxAccounts) throw new EnclaveWalletError('FORBIDDEN', `a wallet may have at most ${maxAccounts} accounts`);
      let account: Account | undefined;
      await withWallet(
        wallet,
        () =>
          deps.enclave.call(
            'deriveAccount',
            {
              userId,
              walletId: wallet.walletId,
              sealedBlob: wallet.sealedBlob,
              pinEnvelope: b64(body.pinEnvelope),
              network: networkToProto(body.network),
              index: body.index,
            },
            traced(res),
          ),
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
    walletRoute(S.pinEnvelopeBody, BODY_LIMITS.small, async ({ userId, body: { pinEnvelope }, wallet, res }) => {
      // The guard already holds the new blob as the current version: a lost race here only delays the host's copy, which the next operation heals.
      await withWallet(
        wallet,
        () => deps.enclave.call('changePin', { userId, walletId: wallet.walletId, sealedBlob: wallet.sealedBlob, pinEnvelope: b64(pinEnvelope) }, traced(res)),
        undefined,
        'ignore',
      );
      res.status(204).end();
    }),
  );
  // --- recovery (docs/recovery.md): the code travels sealed to the client's key; the host never sees it ---------
  /**
   * The enclave has already made the new code current in the guard: the answer must reach the user even if the
   * host's copy of the blob cannot be written now (the guard's blob is the one opened, and the host's copy heals
   * at the wallet's next use). Losing the answer would leave the user with a dead code.
   */
  const keepCodeDeliverable = async (w: WalletRecord, out: { sealedBlob?: Uint8Array | null }): Promise<WalletRecord> => {
    try {
      return out.sealedBlob?.length ? await need(deps.store, 'storage').wallets.update(w, out.sealedBlob) : w;
    } catch {
      return w;
    }
  };
  app.post(
    '/v1/wallets/:walletId/recovery-code',
    walletRoute(S.recoveryCodeBody, BODY_LIMITS.small, async ({ userId, body, wallet, res }) => {
      const out = await withWallet(
        wallet,
        () =>
          deps.enclave.call(
            'newRecoveryCode',
            {
              userId,
              walletId: wallet.walletId,
              sealedBlob: wallet.sealedBlob,
              pinEnvelope: b64(body.pinEnvelope),
              ...recoveryKey(body.recoveryPublicKey),
            },
            traced(res),
          ),
        keepCodeDeliverable,
        'ignore',
      );
      res.json({ encryptedRecoveryCode: Buffer.from(out.encryptedRecoveryCode ?? []).toString('base64') });
    }),
  );
  app.post(
    '/v1/wallets/:walletId/pin/reset',
    walletRoute(S.resetPinBody, BODY_LIMITS.small, async ({ userId, body, wallet, res }) => {
      const out = await withWallet(
        wallet,
        () =>
          deps.enclave.call(
            'resetPin',
            {
              userId,
              walletId: wallet.walletId,
              sealedBlob: wallet.sealedBlob,
              resetEnvelope: b64(body.resetEnvelope),
              ...recoveryKey(body.recoveryPublicKey),
            },
            traced(res),
          ),
        keepCodeDeliverable,
        'ignore',
      );
      // A reset with a passkey and no recovery key keeps the code: no new one to hand over.
      res.json(out.encryptedRecoveryCode?.length ? { encryptedRecoveryCode: Buffer.from(out.encryptedRecoveryCode).toString('base64') } : {});
    }),
  );
  app.get(
    '/v1/wallets/:walletId/factors',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const wallet = await loadWallet(userId, String(req.params.walletId));
      const out = await deps.enclave.call('listFactors', { userId, walletId: wallet.walletId, sealedBlob: wallet.sealedBlob }, traced(res));
      const iso = (ms: number | null | undefined): string | null => (ms ? new Date(Number(ms)).toISOString() : null);
      res.json({
        factors: (out.factors ?? []).map((f) => ({
          kind: f.kind,
          ...(f.credentialId ? { credentialId: f.credentialId } : {}),
          createdAt: iso(f.createdAtMs),
          lastUsedAt: iso(f.lastUsedAtMs),
        })),
      });
    }),
  );
  app.post(
    '/v1/wallets/:walletId/export',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const body = await readBody(S.exportBody, req, BODY_LIMITS.small);
      const recipientPublicKey = b64(body.recipientPublicKey);
      if (recipientPublicKey.length !== 32) throw new EnclaveWalletError('RECIPIENT_KEY_INVALID', 'recipientPublicKey must be a 32-byte X25519 key');
      const wallet = await loadWallet(userId, String(req.params.walletId));
      const out = await withWallet(
        wallet,
        () =>
          deps.enclave.call(
            'export',
            {
              userId,
              walletId: wallet.walletId,
              sealedBlob: wallet.sealedBlob,
              pinEnvelope: b64(body.pinEnvelope),
              recipientPublicKey,
            },
            traced(res),
          ),
        undefined,
        'ignore',
      );
      res.json({ encryptedRecoveryPhrase: Buffer.from(out.encryptedRecoveryPhrase ?? []).toString('base64') });
    }),
  );
}

/** The client's X25519 recovery key, if given: 32 bytes (the enclave checks it is the one the envelope binds). */
function recoveryKey(base64: string | undefined): { recoveryPublicKey?: Uint8Array } {
  if (base64 === undefined) return {};
  const key = b64(base64);
  if (key.length !== 32) throw new EnclaveWalletError('RECIPIENT_KEY_INVALID', 'recoveryPublicKey must be a 32-byte X25519 key');
  return { recoveryPublicKey: key };
}

/**
 * Chain access (SPEC §2): the configured chains, balances read from their
 * nodes, prepared transactions and broadcast. Sending signs in the enclave
 * first (the same request as /sign), then hands the transaction to the node
 * once; a node that fails after the signature answers with the hash so the
 * caller can look it up instead of sending twice.
 */
import type { Express } from 'express';
import { base58 } from '@scure/base';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import * as S from '../api/schemas.js';
import { BODY_LIMITS } from '../api/body.js';
import type { Chains } from '../chains/index.js';
import { hex, traced } from './context.js';
import type { RouteContext } from './context.js';
import { findAccount, signWithWallet } from './signing.js';

const toBigInt = (v: string | number): bigint => BigInt(v);

export function mountChains(app: Express, ctx: RouteContext): void {
  const { deps, route, walletRoute, authenticate, loadWallet, need } = ctx;
  const chains = (): Chains => need(deps.chains, 'chain access (CHAINS)');

  app.get(
    '/v1/chains',
    route(async (req, res) => {
      await authenticate(req, res);
      res.json({ chains: deps.chains?.list() ?? [] });
    }),
  );

  app.get(
    '/v1/wallets/:walletId/balances',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const query = S.balancesQuery.parse(req.query);
      const wallet = await loadWallet(userId, String(req.params.walletId));
      const addresses = wallet.accounts.filter((a) => a.network === query.network).map((a) => a.address);
      const balances =
        query.network === 'evm' ? await chains().evm(Number(query.chainId)).balances(addresses) : await chains().solana(query.cluster).balances(addresses);
      res.json({ balances });
    }),
  );

  app.post(
    '/v1/wallets/:walletId/transactions/prepare',
    walletRoute(
      S.prepareBody,
      BODY_LIMITS.prepare,
      async ({ body, wallet, res }) => {
        const { account: from } = await findAccount(ctx, wallet, body.network, body.address);
        if (body.network === 'evm') {
          const prepared = await chains()
            .evm(Number(body.chainId))
            .prepare(from.address, { to: body.to, value: toBigInt(body.value), data: (body.data ?? '0x') as `0x${string}` });
          res.json({ network: 'evm', chainId: Number(body.chainId), address: from.address, ...prepared });
        } else {
          const prepared = await chains().solana(body.cluster).prepareTransfer(from.address, body.to, toBigInt(body.value));
          res.json({ network: 'solana', cluster: body.cluster, address: from.address, ...prepared });
        }
      },
      'recent',
    ),
  );

  app.post(
    '/v1/wallets/:walletId/transactions/send',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const body = await ctx.body(S.sendBody, req, BODY_LIMITS.sign);
      // The chain must exist before anything is signed.
      const chain = body.network === 'evm' ? chains().evm(Number(body.chainId)) : chains().solana(body.cluster);
      const wallet = await loadWallet(userId, String(req.params.walletId), 'recent');
      const signBody: S.SignBody =
        body.network === 'evm'
          ? body
          : {
              network: 'solana',
              address: body.address,
              kind: 'transaction',
              cluster: body.cluster,
              transaction: body.transaction,
              pinEnvelope: body.pinEnvelope,
            };
      const out = await signWithWallet(ctx, wallet, signBody, traced(res).traceId);
      if (!out.signedTransaction?.length) throw new EnclaveWalletError('INTERNAL_ERROR', 'the enclave answered no signed transaction');
      if (body.network === 'evm') {
        const signedTransaction = hex(out.signedTransaction) as `0x${string}`;
        const hash = await (chain as ReturnType<Chains['evm']>).send(signedTransaction, hex(out.hash) as `0x${string}`);
        res.json({ hash, signedTransaction });
      } else {
        const signedTransaction = Buffer.from(out.signedTransaction).toString('base64');
        const hash = await (chain as ReturnType<Chains['solana']>).send(signedTransaction, base58.encode(out.signature ?? new Uint8Array(0)));
        res.json({ hash, signedTransaction });
      }
    }),
  );
}

/** Signing (SPEC §3): EVM transactions, messages and typed data; Solana transactions and messages. */
import type { Express } from 'express';
import { base58 } from '@scure/base';
import { EnclaveWalletError, evmTxTypeToProto, networkToProto, sameAddress, type RequestOf } from '@enclave-wallet/proto';
import * as S from '../api/schemas.js';
import { b64, hex } from './context.js';
import type { RouteContext } from './context.js';

export function mountSigning(app: Express, ctx: RouteContext): void {
  const { deps, route, authenticate, loadWallet, withWallet } = ctx;
  app.post(
    '/v1/wallets/:walletId/sign',
    route(async (req, res) => {
      const userId = await authenticate(req, res);
      const body = S.signBody.parse(req.body);
      const wallet = await loadWallet(userId, String(req.params.walletId));
      // EVM addresses compare case-insensitively (EIP-55 is only a checksum); base58 is case-sensitive.
      const account = body.address
        ? wallet.accounts.find((a) => a.network === body.network && sameAddress(body.network, a.address, body.address!))
        : wallet.accounts.find((a) => a.network === body.network && a.index === 0);
      if (!account) throw new EnclaveWalletError('ACCOUNT_NOT_FOUND', 'the wallet has no such account');
      const request: RequestOf<'sign'> = { userId, walletId: wallet.walletId, sealedBlob: wallet.sealedBlob, pinEnvelope: b64(body.pinEnvelope), network: networkToProto(body.network), address: account.address, accountIndex: account.index };
      if (body.network === 'evm' && body.kind === 'transaction') {
        const t = body.transaction;
        const str = (v: string | number | undefined): string => (v === undefined ? '' : String(v));
        request.evmTransaction = {
          type: evmTxTypeToProto(t.type),
          chainId: Number(body.chainId),
          to: t.to ?? '',
          value: str(t.value),
          nonce: str(t.nonce),
          gas: str(t.gas),
          gasPrice: str(t.gasPrice),
          maxFeePerGas: str(t.maxFeePerGas),
          maxPriorityFeePerGas: str(t.maxPriorityFeePerGas),
          data: t.data ? Buffer.from(t.data.slice(2), 'hex') : new Uint8Array(0),
          accessList: t.accessList ?? [],
        };
      } else if (body.network === 'evm' && body.kind === 'message') {
        request.evmMessage = typeof body.message === 'string' ? { text: body.message } : { raw: Buffer.from(body.message.raw.slice(2), 'hex') };
      } else if (body.network === 'evm' && body.kind === 'typed-data') {
        request.evmTypedData = { json: JSON.stringify(body.typedData) };
      } else if (body.network === 'solana' && body.kind === 'transaction') {
        if (!body.transaction) throw new EnclaveWalletError('VALIDATION_FAILED', 'transaction: required for kind transaction');
        request.solanaTransaction = { wireTransaction: b64(body.transaction) };
      } else if (body.network === 'solana' && body.kind === 'message') {
        if (!body.message) throw new EnclaveWalletError('VALIDATION_FAILED', 'message: required for kind message');
        request.solanaMessage = { message: b64(body.message) };
      }
      const out = await withWallet(wallet, () => deps.enclave.call('sign', request), undefined, 'ignore');
      if (body.network === 'solana') {
        res.json({ signature: base58.encode(out.signature ?? new Uint8Array(0)), ...(out.signedTransaction?.length ? { signedTransaction: Buffer.from(out.signedTransaction).toString('base64') } : {}) });
      } else {
        res.json({ signature: hex(out.signature), ...(out.signedTransaction?.length ? { signedTransaction: hex(out.signedTransaction), hash: hex(out.hash) } : {}) });
      }
    }),
  );
}

/** Signing (SPEC §3): EVM transactions, messages and typed data; Solana transactions and messages. */
import type { Express } from 'express';
import { base58 } from '@scure/base';
import { EnclaveWalletError, evmTxTypeToProto, networkToProto, sameAddress, type RequestOf, type ResponseOf } from '@enclave-wallet/proto';
import * as S from '../api/schemas.js';
import { BODY_LIMITS } from '../api/body.js';
import type { Account, WalletRecord } from '../storage/index.js';
import { b64, hex, traced } from './context.js';
import type { RouteContext } from './context.js';

/** The wallet's account a request names (`address`), or its account 0 on that network. */
export function accountOf(wallet: WalletRecord, network: Account['network'], address: string | undefined): Account {
  // EVM addresses compare case-insensitively (EIP-55 is only a checksum); base58 is case-sensitive.
  const account = address
    ? wallet.accounts.find((a) => a.network === network && sameAddress(network, a.address, address))
    : wallet.accounts.find((a) => a.network === network && a.index === 0);
  if (!account) throw new EnclaveWalletError('ACCOUNT_NOT_FOUND', 'the wallet has no such account');
  return account;
}

/**
 * `accountOf`, for a record that may come from the host's cache: an account missing there may have been
 * added through another host since, so the record is read again before the answer is ACCOUNT_NOT_FOUND.
 */
export async function findAccount(
  ctx: RouteContext,
  wallet: WalletRecord,
  network: Account['network'],
  address: string | undefined,
): Promise<{ wallet: WalletRecord; account: Account }> {
  try {
    return { wallet, account: accountOf(wallet, network, address) };
  } catch (err) {
    if (!(err instanceof EnclaveWalletError && err.code === 'ACCOUNT_NOT_FOUND')) throw err;
    const fresh = await ctx.loadWallet(wallet.userId, wallet.walletId);
    return { wallet: fresh, account: accountOf(fresh, network, address) };
  }
}

/**
 * Has the enclave sign a request of SPEC §3 with the wallet's account (`wallet` may come from the host's cache);
 * `traceId`: the HTTP request's id, for the enclave's log line.
 */
export async function signWithWallet(ctx: RouteContext, recent: WalletRecord, body: S.SignBody, traceId: string): Promise<ResponseOf<'sign'>> {
  const { wallet, account } = await findAccount(ctx, recent, body.network, body.address);
  const request: RequestOf<'sign'> = {
    userId: wallet.userId,
    walletId: wallet.walletId,
    sealedBlob: wallet.sealedBlob,
    pinEnvelope: b64(body.pinEnvelope),
    network: networkToProto(body.network),
    address: account.address,
    accountIndex: account.index,
  };
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
    request.solanaTransaction = { wireTransaction: b64(body.transaction), cluster: body.cluster ?? '' };
  } else if (body.network === 'solana' && body.kind === 'message') {
    if (!body.message) throw new EnclaveWalletError('VALIDATION_FAILED', 'message: required for kind message');
    request.solanaMessage = { message: b64(body.message) };
  }
  return ctx.withWallet(wallet, () => ctx.deps.enclave.call('sign', request, { traceId }), undefined, 'ignore');
}

export function mountSigning(app: Express, ctx: RouteContext): void {
  app.post(
    '/v1/wallets/:walletId/sign',
    ctx.walletRoute(
      S.signBody,
      BODY_LIMITS.sign,
      async ({ body, wallet, res }) => {
        const out = await signWithWallet(ctx, wallet, body, traced(res).traceId);
        if (body.network === 'solana') {
          res.json({
            signature: base58.encode(out.signature ?? new Uint8Array(0)),
            ...(out.signedTransaction?.length ? { signedTransaction: Buffer.from(out.signedTransaction).toString('base64') } : {}),
          });
        } else {
          res.json({
            signature: hex(out.signature),
            ...(out.signedTransaction?.length ? { signedTransaction: hex(out.signedTransaction), hash: hex(out.hash) } : {}),
          });
        }
      },
      'recent',
    ),
  );
}

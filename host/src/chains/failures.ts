/**
 * What a node's failure means for the caller, as one of the API's codes. The
 * node's own words travel in `reason` (they name no secret); the transport's
 * errors are never quoted, because they name the RPC URL.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { BaseError, HttpRequestError, RpcRequestError, TimeoutError, decodeErrorResult, type Hex } from 'viem';

/** A node's words, trimmed: never longer than 300 characters, one line. */
export const nodeWords = (s: string): string => s.replace(/\s+/g, ' ').trim().slice(0, 300);

/** Refusals every chain's nodes word alike enough to sort by their message. */
export function classifyRefusal(
  message: string,
): 'NONCE_TOO_LOW' | 'INSUFFICIENT_FUNDS' | 'FEE_TOO_LOW' | 'ALREADY_KNOWN' | 'TRANSACTION_REVERTED' | 'TRANSACTION_REJECTED' {
  if (/nonce too low|nonce has already been used|invalid nonce|NonceTooLow/i.test(message)) return 'NONCE_TOO_LOW';
  if (/insufficient funds|insufficient lamports|insufficient balance|no record of a prior credit|InsufficientFunds/i.test(message)) return 'INSUFFICIENT_FUNDS';
  if (/underpriced|fee cap|less than (the )?block base ?fee|gas price too low|max fee per gas less than|FeeCapTooLow|GasPriceTooLow/i.test(message))
    return 'FEE_TOO_LOW';
  if (/already known|known transaction|already imported|AlreadyProcessed|already been processed/i.test(message)) return 'ALREADY_KNOWN';
  if (/execution reverted|revert/i.test(message)) return 'TRANSACTION_REVERTED';
  return 'TRANSACTION_REJECTED';
}

/** The revert reason inside revert data (Error(string), Panic(uint256)), or undefined. */
export function revertReason(data: unknown): string | undefined {
  if (typeof data !== 'string' || !/^0x[0-9a-fA-F]*$/.test(data) || data.length < 10) return undefined;
  try {
    const decoded = decodeErrorResult({ abi: [], data: data as Hex });
    if (decoded.errorName === 'Error') return String(decoded.args?.[0] ?? '');
    if (decoded.errorName === 'Panic') return `panic ${String(decoded.args?.[0] ?? '')}`;
  } catch {
    // a custom error: its selector is all we can say
  }
  return `custom error ${data.slice(0, 10)}`;
}

const CODE_MESSAGES = {
  NONCE_TOO_LOW: 'the nonce was used already; prepare the transaction again',
  INSUFFICIENT_FUNDS: 'the account cannot pay the value and the fees',
  FEE_TOO_LOW: 'the fees are below what the node accepts now; prepare the transaction again',
  TRANSACTION_REVERTED: 'the transaction reverts',
  TRANSACTION_REJECTED: 'the node refused the transaction',
} as const;

/**
 * Turns whatever a viem call threw into the API's error. With `hash`, the
 * failure happened while sending a signed transaction: when its outcome is
 * unknown (a timeout, a dropped connection) the answer carries the hash, and
 * nothing is retried.
 */
export function evmFailure(err: unknown, hash?: string): EnclaveWalletError {
  if (err instanceof EnclaveWalletError) return err;
  const chain =
    err instanceof BaseError ? (err.walk((e) => e instanceof RpcRequestError || e instanceof HttpRequestError || e instanceof TimeoutError) ?? err) : err;
  if (chain instanceof TimeoutError || (chain instanceof HttpRequestError && chain.status === undefined)) {
    return new EnclaveWalletError(
      'CHAIN_UNAVAILABLE',
      hash
        ? 'the node did not answer; the transaction may or may not have been sent: look it up by its hash before sending again'
        : 'the chain’s node cannot be reached',
      hash ? { hash } : {},
    );
  }
  if (chain instanceof HttpRequestError) {
    const status = chain.status ?? 0;
    if (status >= 500 || status === 429)
      return new EnclaveWalletError('CHAIN_UNAVAILABLE', `the chain’s node is unavailable (HTTP ${status})`, hash ? { hash } : {});
    return new EnclaveWalletError('CHAIN_ERROR', `the chain’s node refused the request (HTTP ${status})`, hash ? { hash } : {});
  }
  if (chain instanceof BaseError) {
    // The node's own message: RpcRequestError's details, or the innermost error's.
    const words = nodeWords(chain instanceof RpcRequestError ? chain.details : (chain.details ?? chain.shortMessage));
    const withData = chain.walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data?: unknown } | null;
    const kind = classifyRefusal(words);
    if (kind === 'TRANSACTION_REVERTED' || revertReason(withData?.data) !== undefined) {
      const reason = revertReason(withData?.data) ?? words.replace(/^execution reverted:?\s*/i, '');
      return new EnclaveWalletError('TRANSACTION_REVERTED', `${CODE_MESSAGES.TRANSACTION_REVERTED}${reason ? `: ${reason}` : ''}`, {
        reason: reason || 'execution reverted',
      });
    }
    return new EnclaveWalletError(
      kind === 'ALREADY_KNOWN' ? 'TRANSACTION_REJECTED' : kind,
      CODE_MESSAGES[kind === 'ALREADY_KNOWN' ? 'TRANSACTION_REJECTED' : kind],
      { reason: words },
    );
  }
  return new EnclaveWalletError('CHAIN_ERROR', 'the chain’s node gave an answer that could not be used');
}

/** True when the node refused a transaction because it has it already (a send repeated): that send succeeded. */
export function alreadyKnown(err: unknown): boolean {
  if (!(err instanceof BaseError)) return false;
  const rpc = err.walk((e) => e instanceof RpcRequestError);
  return rpc instanceof RpcRequestError && classifyRefusal(rpc.details) === 'ALREADY_KNOWN';
}

/** The API's error for a Solana node's JSON-RPC error (`{ code, message, data }`). */
export function solanaFailure(error: { code?: unknown; message?: unknown; data?: unknown }): EnclaveWalletError {
  const logs = (error.data as { logs?: unknown } | undefined)?.logs;
  const words = nodeWords([String(error.message ?? ''), ...(Array.isArray(logs) ? logs.map(String) : [])].join('; '));
  const kind = classifyRefusal(words);
  if (/Blockhash not found|BlockhashNotFound/i.test(words))
    return new EnclaveWalletError('TRANSACTION_REJECTED', 'the transaction’s blockhash has expired; prepare it again', { reason: words });
  if (kind === 'ALREADY_KNOWN' || kind === 'TRANSACTION_REVERTED')
    return new EnclaveWalletError('TRANSACTION_REJECTED', CODE_MESSAGES.TRANSACTION_REJECTED, { reason: words });
  return new EnclaveWalletError(kind, CODE_MESSAGES[kind], { reason: words });
}

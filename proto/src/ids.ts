/**
 * Wallet ids and user ids as distinct types. Both are strings on the wire and in storage, and many functions
 * take one of each (sealing, the guard, envelope bindings): branded types make swapping them a compile error.
 * A string becomes a `WalletId` or a `UserId` only through these constructors, once, where a request is decoded.
 * Not part of the SDK's copies (client/src/proto-copy): the browser never handles both side by side.
 */
import { EnclaveWalletError } from './errors.js';

/** A wallet's id (the host makes them: a UUID). */
export type WalletId = string & { readonly __brand: 'WalletId' };
/** A user's id (the token's `sub`, as the host derives it from the login): the wallet's owner. */
export type UserId = string & { readonly __brand: 'UserId' };

/** Longest id accepted: the limit of every required string field of an enclave request (enclave/src/request-fields.ts). */
export const MAX_ID_LENGTH = 256;

function checked(value: string | null | undefined, field: string): string {
  if (!value) throw new EnclaveWalletError('VALIDATION_FAILED', `${field} is required`);
  if (value.length > MAX_ID_LENGTH) throw new EnclaveWalletError('VALIDATION_FAILED', `${field} is too long`);
  return value;
}

/** A request's wallet id: present and at most 256 characters. @throws {EnclaveWalletError} VALIDATION_FAILED */
export const parseWalletId = (value: string | null | undefined, field = 'walletId'): WalletId => checked(value, field) as WalletId;

/** A request's user id: present and at most 256 characters. @throws {EnclaveWalletError} VALIDATION_FAILED */
export const parseUserId = (value: string | null | undefined, field = 'userId'): UserId => checked(value, field) as UserId;

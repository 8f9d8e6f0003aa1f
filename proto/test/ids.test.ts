import { describe, expect, it } from '@jest/globals';
import { EnclaveWalletError } from '../src/errors.js';
import { MAX_ID_LENGTH, parseUserId, parseWalletId, type UserId, type WalletId } from '../src/ids.js';

const failure = (f: () => unknown): EnclaveWalletError => {
  try {
    f();
  } catch (err) {
    return err as EnclaveWalletError;
  }
  throw new Error('expected a failure');
};

describe('wallet and user ids', () => {
  it('are the strings given, when present and at most 256 characters', () => {
    expect(parseWalletId('0b0e8c1e-5d1c-4f37-9a57-0d5f1c2b3a4d')).toBe('0b0e8c1e-5d1c-4f37-9a57-0d5f1c2b3a4d');
    expect(parseUserId('google:1234567890')).toBe('google:1234567890');
    expect(parseUserId('u'.repeat(MAX_ID_LENGTH))).toHaveLength(256);
  });

  it('refuse a missing or too long id as a request field (VALIDATION_FAILED, naming the field)', () => {
    for (const value of [undefined, null, '']) {
      expect(failure(() => parseWalletId(value))).toMatchObject({ code: 'VALIDATION_FAILED', message: 'walletId is required' });
      expect(failure(() => parseUserId(value))).toMatchObject({ code: 'VALIDATION_FAILED', message: 'userId is required' });
    }
    expect(failure(() => parseWalletId('w'.repeat(257)))).toMatchObject({ code: 'VALIDATION_FAILED', message: 'walletId is too long' });
    expect(failure(() => parseUserId('u'.repeat(257), 'sub'))).toMatchObject({ code: 'VALIDATION_FAILED', message: 'sub is too long' });
  });

  it('cannot be swapped, nor made from a plain string, without a type error', () => {
    const open = (walletId: WalletId, userId: UserId): string => `${walletId}/${userId}`;
    const walletId = parseWalletId('w-1');
    const userId = parseUserId('u-1');
    expect(open(walletId, userId)).toBe('w-1/u-1');
    // @ts-expect-error a user id where a wallet id goes
    expect(open(userId, walletId)).toBe('u-1/w-1');
    // @ts-expect-error a plain string is neither
    expect(open('w-1', userId)).toBe('w-1/u-1');
  });
});

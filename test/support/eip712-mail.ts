/**
 * The example of EIP-712 itself: Mail from Cow to Bob under the "Ether Mail"
 * domain. Its digest (0xbe609aee…57bd2) and the signature by keccak256("cow")
 * are published in the EIP; the enclave's vector test checks both.
 */
import type { Address } from 'viem';

export const MAIL_EXAMPLE = {
  domain: { name: 'Ether Mail', version: '1', chainId: 1, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' as Address },
  types: {
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' as Address },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' as Address },
    contents: 'Hello, Bob!',
  },
} as const;

/** The same with the domain's type spelled out, as the EIP writes it (viem derives it). */
export const MAIL_EXAMPLE_WITH_DOMAIN_TYPE = {
  ...MAIL_EXAMPLE,
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    ...MAIL_EXAMPLE.types,
  },
} as const;

/** keccak256("cow"): the example's signing key. */
export const COW_KEY = 'c85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4';

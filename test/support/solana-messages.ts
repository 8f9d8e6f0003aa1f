/**
 * Solana transaction messages compiled by @solana/kit and the program
 * clients (@solana-program/system, @solana-program/token), not by this
 * repository's code: the independent side of the tests of our parsers, of the
 * refusal of transaction-shaped "messages", and of the PIN summary.
 */
import {
  address,
  appendTransactionMessageInstructions,
  compileTransaction,
  compressTransactionMessageUsingAddressLookupTables,
  createNoopSigner,
  createTransactionMessage,
  getBase58Decoder,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  type Address,
  type Blockhash,
  type Instruction,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { getTransferCheckedInstruction, getTransferInstruction } from '@solana-program/token';

/** An attacker's account (any valid address). */
export const ATTACKER = address('9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin');
/** A mint and two token accounts, for SPL transfers. */
export const MINT = address('EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v');
export const SOURCE_TOKEN_ACCOUNT = address('7UX2i7SucgLMQcfZ75s3VXmZZY4YRUyJN9X1RgfMoDUi');
export const DESTINATION_TOKEN_ACCOUNT = address('6sbzC1eH4FTujJXWj51eQe25cYvr4xfXbJ1vAj7j2k5J');
/** An address lookup table and an account it holds. */
export const LOOKUP_TABLE = address('4QwSwNriKPrz8DLW4ju5uxC2TN5uksJx6tGNgdUaZ6jM');
export const LOOKED_UP = address('8opHzTAnfzRpPEx21XtnrVTX28YQuCpAjcn1PczScKh');

const blockhash = { blockhash: getBase58Decoder().decode(new Uint8Array(32).fill(7)) as Blockhash, lastValidBlockHeight: 100n };

/** The message bytes (what signatures sign) of `instructions` paid by `payer`. */
export function compileMessage(version: 'legacy' | 0 | 1, payer: string, instructions: Instruction[], lookupTables?: Record<Address, Address[]>): Uint8Array {
  const message = pipe(
    createTransactionMessage({ version }),
    (m) => setTransactionMessageFeePayer(address(payer), m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const compressed = lookupTables && version === 0 ? compressTransactionMessageUsingAddressLookupTables(message as never, lookupTables as never) : message;
  return new Uint8Array(compileTransaction(compressed as typeof message).messageBytes);
}

/** A System Program transfer of `lamports` from `from` to `to`. */
export const solTransfer = (from: string, to: string, lamports: bigint): Instruction =>
  getTransferSolInstruction({ source: createNoopSigner(address(from)), destination: address(to), amount: lamports });

/** The legacy message of the attack: 5 SOL from the victim to the attacker. */
export const fiveSolToAttacker = (victim: string): Uint8Array => compileMessage('legacy', victim, [solTransfer(victim, ATTACKER, 5_000_000_000n)]);

/** SPL Token `Transfer` and `TransferChecked` of `amount` base units, signed by `owner`. */
export const splTransfer = (owner: string, amount: bigint): Instruction =>
  getTransferInstruction({ source: SOURCE_TOKEN_ACCOUNT, destination: DESTINATION_TOKEN_ACCOUNT, authority: createNoopSigner(address(owner)), amount });
export const splTransferChecked = (owner: string, amount: bigint, decimals: number): Instruction =>
  getTransferCheckedInstruction({
    source: SOURCE_TOKEN_ACCOUNT,
    mint: MINT,
    destination: DESTINATION_TOKEN_ACCOUNT,
    authority: createNoopSigner(address(owner)),
    amount,
    decimals,
  });

/** A v0 message whose transfer's recipient comes from an address lookup table. */
export const v0WithLookup = (payer: string): Uint8Array =>
  compileMessage(0, payer, [solTransfer(payer, LOOKED_UP, 1_000n), splTransfer(payer, 42n)], { [LOOKUP_TABLE]: [LOOKED_UP] });

/** A wire transaction (signature slots zero) for message bytes. */
export const wireOf = (message: Uint8Array): Uint8Array => {
  const required = message[0]! & 0x80 ? message[1]! : message[0]!;
  return Uint8Array.from([required, ...new Uint8Array(64 * required), ...message]);
};

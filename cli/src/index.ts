/** The `enclave-wallet` command line (SPEC §8). */
import { processIo, UsageError, type Io } from './io.js';
import { KMS_POLICY_USAGE, kmsPolicyCommand } from './kms-policy.js';
import { VERIFY_USAGE, verifyAttestationCommand } from './verify-attestation.js';

export { verifyAttestationCommand } from './verify-attestation.js';
export { buildKeyPolicy, kmsPolicyCommand, parseMeasurements } from './kms-policy.js';
export type { Io } from './io.js';

const USAGE = `usage: enclave-wallet <command> [options]

commands:
  verify-attestation FILE [--root aws|dev|PATH] [--pcr N=HEX]... [--nonce HEX] [--at document|now|ISO-8601] [--key-length N] [--inspect]
  kms-policy --measurements FILE [--pcr 0,1,2,8] [--account ID] [--role-arn ARN] [--admin-arn ARN]

Run a command with --help for its options.`;

/** Runs the command line; resolves to the exit code. */
export async function main(args: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case 'verify-attestation':
        return await verifyAttestationCommand(rest, io);
      case 'kms-policy':
        return await kmsPolicyCommand(rest, io);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.stdout(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`enclave-wallet: ${err.message}`);
      io.stderr(command === 'verify-attestation' ? VERIFY_USAGE : command === 'kms-policy' ? KMS_POLICY_USAGE : USAGE);
      return 2;
    }
    throw err;
  }
}

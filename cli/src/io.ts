/** What a command may touch, passed in so tests can run commands in-process. */
export interface Io {
  stdout(line: string): void;
  stderr(line: string): void;
  readStdin(): Promise<Buffer>;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Bad command-line usage: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const processIo: Io = {
  stdout: (line) => process.stdout.write(line + '\n'),
  stderr: (line) => process.stderr.write(line + '\n'),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
  env: process.env,
  cwd: process.cwd(),
};

/**
 * The command-line arguments one by one; `value()` takes the next argument
 * as this option's value (UsageError when there is none).
 */
export function* eachArg(args: string[]): Generator<{ arg: string; value: () => string }> {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    yield {
      arg,
      value: () => {
        const v = args[++i];
        if (v === undefined) throw new UsageError(`${arg} needs a value`);
        return v;
      },
    };
  }
}

/**
 * The host's logger: pino, writing the project's one log format (the same
 * fields as the enclave and the dev tools): JSON lines with `time` (ISO),
 * `level` as a word, `component`, `msg`, and `requestId` where a request is
 * concerned. What goes in a line is chosen field by field at each call site
 * (no request bodies, headers or query strings).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export function hostLogger(level: string | undefined = 'info', destination?: DestinationStream): Logger {
  const options = {
    base: { component: 'host' },
    level: ['debug', 'info', 'warn', 'error'].includes(level ?? '') ? level : 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * The enclave's logger: one JSON line per event on stderr. Redaction is by
 * construction: a log call takes an event name and flat primitive fields
 * only (no objects, buffers or errors that could carry a secret), and any
 * field whose name looks like a secret is replaced before it is written.
 */

/** A value that may appear in a log line. */
export type LogValue = string | number | boolean | null | undefined;

/** Field names that are never written, whatever the caller passes. */
const SECRET_FIELD = /pin|seed|mnemonic|secret|private|key|token|envelope|plaintext|password|credential|blob|signature/i;

/** What a log field shows instead of a secret. */
export const REDACTED = '[redacted]';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: Record<string, LogValue>): void;
  info(event: string, fields?: Record<string, LogValue>): void;
  warn(event: string, fields?: Record<string, LogValue>): void;
  error(event: string, fields?: Record<string, LogValue>): void;
}

/** Makes a log line, with secret-looking fields and non-primitive values replaced. */
export function formatLogLine(level: LogLevel, event: string, fields: Record<string, LogValue> = {}, now: Date = new Date()): string {
  const line: Record<string, LogValue> = { time: now.toISOString(), level, component: 'enclave', event };
  for (const [name, value] of Object.entries(fields)) {
    if (SECRET_FIELD.test(name)) line[name] = REDACTED;
    else if (value === null || value === undefined || ['string', 'number', 'boolean'].includes(typeof value)) line[name] = value;
    else line[name] = REDACTED;
  }
  return JSON.stringify(line);
}

/** A logger writing to `write` (stderr by default) at `level` and above. */
export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const at = (lvl: LogLevel) => (event: string, fields?: Record<string, LogValue>) => {
    if (ORDER[lvl] >= ORDER[level]) write(formatLogLine(lvl, event, fields));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

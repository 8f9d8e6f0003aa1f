/**
 * The enclave's log of requests refused before any handler ran (src/server.ts refusalLog), a unit test of one
 * function: the logger records, the clock and the timer are ours. A hostile host can send such requests without
 * end at almost no cost, so at most REFUSED_LINES_PER_SECOND lines a second are written and the rest counted.
 */
import {
  cappedLines,
  FAILED_LINES_PER_SECOND,
  failureLog,
  INTERNAL_LINES_PER_SECOND,
  internalErrorLog,
  refusalLog,
  REFUSED_LINES_PER_SECOND,
} from '../src/server.js';
import type { Logger } from '../src/log.js';

test('at most REFUSED_LINES_PER_SECOND lines a second; the rest counted, and the count logged once a second later', () => {
  const lines: Array<[string, Record<string, unknown>]> = [];
  const record =
    (_level: string) =>
    (event: string, fields: Record<string, unknown> = {}): void =>
      void lines.push([event, fields]);
  const logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') } as unknown as Logger;
  let now = 5_000;
  const timers: Array<() => void> = [];
  const { refused: log, close } = refusalLog(
    logger,
    () => now,
    (fn, ms) => {
      expect(ms).toBe(1000);
      timers.push(fn);
    },
  );
  for (let i = 0; i < REFUSED_LINES_PER_SECOND + 5; i++) log({ code: 'PROTOCOL_VERSION_UNSUPPORTED', operation: 'health', traceId: `t${i}` });
  expect(lines).toHaveLength(REFUSED_LINES_PER_SECOND);
  expect(lines[0]).toEqual(['request_refused', { requestId: 't0', operation: 'health', code: 'PROTOCOL_VERSION_UNSUPPORTED' }]);
  expect(timers).toHaveLength(1); // one count pending, however many were suppressed
  now += 999;
  log({ code: 'MALFORMED_REQUEST' }); // still the same second: counted
  timers.shift()!();
  expect(lines.at(-1)).toEqual(['request_refused_suppressed', { count: 6 }]);
  now += 1; // a new second: written again
  log({ code: 'MALFORMED_REQUEST' });
  expect(lines.at(-1)).toEqual(['request_refused', { requestId: undefined, operation: undefined, code: 'MALFORMED_REQUEST' }]);
  expect(lines).toHaveLength(REFUSED_LINES_PER_SECOND + 2);
  expect(timers).toHaveLength(0);
  // A count still pending when the server closes is written by close(), once; the timer then finds nothing.
  for (let i = 0; i < REFUSED_LINES_PER_SECOND; i++) log({ code: 'MALFORMED_REQUEST' });
  expect(timers).toHaveLength(1);
  close();
  expect(lines.at(-1)).toEqual(['request_refused_suppressed', { count: 1 }]);
  const written = lines.length;
  timers.shift()!();
  close();
  expect(lines).toHaveLength(written);
});

/** A logger that keeps each line as [level, event, fields]. */
function recordingLogger(): { logger: Logger; lines: Array<[string, string, Record<string, unknown>]> } {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const record =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}): void =>
      void lines.push([level, event, fields]);
  return { logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') } as unknown as Logger, lines };
}

test('requests that failed: at most FAILED_LINES_PER_SECOND `request` lines a second, the rest counted as `request_suppressed`', () => {
  const { logger, lines } = recordingLogger();
  let now = 0;
  const timers: Array<() => void> = [];
  const { failed, close } = failureLog(
    logger,
    () => now,
    (fn) => void timers.push(fn),
  );
  for (let i = 0; i < FAILED_LINES_PER_SECOND + 3; i++) failed({ operation: 'sign', traceId: `r${i}`, ms: 1, code: 'ENVELOPE_INVALID' });
  expect(lines).toHaveLength(FAILED_LINES_PER_SECOND);
  expect(lines[0]).toEqual(['warn', 'request', { requestId: 'r0', operation: 'sign', ms: 1, code: 'ENVELOPE_INVALID' }]);
  expect(timers).toHaveLength(1);
  now += 1000;
  failed({ operation: 'sign', traceId: '', ms: 2, code: 'WRONG_PIN' }); // a new second; no request id: none logged
  expect(lines.at(-1)).toEqual(['warn', 'request', { requestId: undefined, operation: 'sign', ms: 2, code: 'WRONG_PIN' }]);
  timers.shift()!();
  expect(lines.at(-1)).toEqual(['warn', 'request_suppressed', { count: 3 }]);
  close();
  expect(lines).toHaveLength(FAILED_LINES_PER_SECOND + 2);
});

test("errors that are not the protocol's: at most INTERNAL_LINES_PER_SECOND `internal_error` lines a second, by class only, the rest counted", () => {
  const { logger, lines } = recordingLogger();
  let now = 0;
  const timers: Array<() => void> = [];
  const { internal, close } = internalErrorLog(
    logger,
    () => now,
    (fn) => void timers.push(fn),
  );
  for (let i = 0; i < INTERNAL_LINES_PER_SECOND + 5; i++) internal(new TypeError(`secret-looking message ${i}`), 'sign');
  expect(lines).toHaveLength(INTERNAL_LINES_PER_SECOND);
  expect(lines[0]).toEqual(['error', 'internal_error', { operation: 'sign', errorClass: 'TypeError' }]);
  expect(JSON.stringify(lines)).not.toContain('secret-looking');
  now += 1000;
  internal('a string thrown', undefined);
  expect(lines.at(-1)).toEqual(['error', 'internal_error', { operation: 'none', errorClass: 'String' }]);
  timers.shift()!();
  expect(lines.at(-1)).toEqual(['error', 'internal_error_suppressed', { count: 5 }]);
  close();
  expect(lines).toHaveLength(INTERNAL_LINES_PER_SECOND + 2);
});

test("after close() (the server's), a held count is written once and every later line is written as it comes", () => {
  const written: string[] = [];
  const timers: Array<() => void> = [];
  const { line, close } = cappedLines<string>(
    (f) => void written.push(f),
    (count) => void written.push(`suppressed ${count}`),
    2,
    () => 0,
    (fn) => void timers.push(fn),
  );
  for (const f of ['a', 'b', 'c', 'd']) line(f);
  close();
  expect(written).toEqual(['a', 'b', 'suppressed 2']);
  line('late-1'); // a request that was still finishing
  line('late-2');
  timers.shift()!(); // the count's timer finds nothing
  expect(written).toEqual(['a', 'b', 'suppressed 2', 'late-1', 'late-2']);
});

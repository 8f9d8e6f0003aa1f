/**
 * FramedStream's close after an answer that ends a connection (src/rpc-stream.ts closeAfterFlush), a unit test of one
 * class on a stream of our own and jest's clock: a peer that stops reading cannot hold the connection open past
 * FLUSH_TIMEOUT_MS, and nothing it sends meanwhile is handed on.
 */
import { Duplex } from 'node:stream';
import { jest } from '@jest/globals';
import { encodeFrame } from '../src/framing.js';
import { FLUSH_TIMEOUT_MS, FramedStream } from '../src/rpc-stream.js';

afterEach(() => jest.useRealTimers());

/** A stream whose writes never complete: a peer that has stopped reading, its buffers full. */
function stuckStream(): Duplex {
  return new Duplex({
    read() {},
    write(_chunk, _encoding, _callback) {
      // never called back
    },
  });
}

test('closeAfterFlush closes at FLUSH_TIMEOUT_MS when the answer is never flushed, with its reason, and reads nothing meanwhile', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }); // the stream's events stay real
  const stream = stuckStream();
  const frames: Buffer[] = [];
  const closed: Array<Error | undefined> = [];
  const framed = new FramedStream(
    stream,
    1024,
    (f) => frames.push(f),
    (reason) => closed.push(reason),
  );
  framed.send(Uint8Array.of(1, 2, 3)); // the refusal's answer, stuck
  const reason = new Error('undecodable request');
  framed.closeAfterFlush(reason);
  stream.push(encodeFrame(Uint8Array.of(9))); // a request behind it
  await new Promise((r) => setImmediate(r)); // delivered to the stream's listeners
  jest.advanceTimersByTime(FLUSH_TIMEOUT_MS - 1);
  expect(closed).toEqual([]);
  expect(stream.destroyed).toBe(false);
  jest.advanceTimersByTime(1);
  expect(closed).toEqual([reason]);
  expect(stream.destroyed).toBe(true);
  expect(frames).toEqual([]);
  jest.advanceTimersByTime(FLUSH_TIMEOUT_MS);
  expect(closed).toHaveLength(1); // once
});

test('closeAfterFlush closes as soon as the answer is flushed, not at the timeout', async () => {
  const stream = new Duplex({ read() {}, write: (_c, _e, callback) => callback() });
  const closed: Array<Error | undefined> = [];
  const framed = new FramedStream(
    stream,
    1024,
    () => undefined,
    (reason) => closed.push(reason),
  );
  framed.send(Uint8Array.of(1));
  const reason = new Error('request without an id');
  const started = Date.now();
  framed.closeAfterFlush(reason);
  for (let i = 0; i < 100 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(closed).toEqual([reason]);
  expect(Date.now() - started).toBeLessThan(FLUSH_TIMEOUT_MS);
});

/**
 * One framed byte stream (proto/src/framing.ts) as both ends of the RPC use
 * it: frames in, frames out, closed once on any framing error, end or error.
 */
import type { Duplex } from 'node:stream';
import { encodeFrame, FrameDecoder, FrameError } from './framing.js';

/** How long closeAfterFlush waits for its last answers to be flushed before it closes anyway. */
export const FLUSH_TIMEOUT_MS = 5_000;

/**
 * Owns a stream and turns it into frames in and frames out. Any framing error,
 * end of stream or stream error closes it once, removing every listener it
 * added.
 */
export class FramedStream {
  private readonly decoder: FrameDecoder;
  private done = false;
  /** Set by closeAfterFlush: the last answers are being flushed, and nothing more is read or sent. */
  private closing = false;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EventEmitter listener signature
  private readonly listeners: Array<[string, (...args: any[]) => void]>;

  constructor(
    readonly stream: Duplex,
    private readonly maxFrameBytes: number,
    onFrame: (frame: Buffer) => void,
    private readonly onClose: (reason: Error | undefined) => void,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    const onData = (chunk: Buffer): void => {
      // Nothing more is read once the stream is closing after an answer that ends it (closeAfterFlush): a frame behind
      // one refused for good is not served, and a bad one does not cut that answer's flush short.
      if (this.done || this.closing) return;
      let frames: Buffer[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        this.close(err as FrameError);
        return;
      }
      for (const frame of frames) {
        if (this.done || this.closing) return; // the same, for the frames of one chunk
        onFrame(frame);
      }
    };
    const onEnd = (): void => {
      if (this.closing) return; // closeAfterFlush closes once its answer is flushed
      try {
        this.decoder.end();
        this.close(undefined);
      } catch (err) {
        this.close(err as FrameError);
      }
    };
    const onError = (err: Error): void => this.close(err);
    const onStreamClose = (): void => this.close(undefined);
    this.listeners = [
      ['data', onData],
      ['end', onEnd],
      ['error', onError],
      ['close', onStreamClose],
    ];
    for (const [event, fn] of this.listeners) stream.on(event, fn);
  }

  get closed(): boolean {
    return this.done;
  }

  /** Sends one payload; false when the stream is already closed. */
  send(payload: Uint8Array): boolean {
    if (this.done || this.closing) return false;
    this.stream.write(encodeFrame(payload, this.maxFrameBytes));
    return true;
  }

  /**
   * Closes after everything written so far has been flushed (at most FLUSH_TIMEOUT_MS: a peer that stops reading does
   * not hold the connection open); nothing read after this call is handed on, and nothing more is sent.
   */
  closeAfterFlush(reason: Error): void {
    if (this.done || this.closing) return;
    this.closing = true;
    const timer = setTimeout(() => this.close(reason), FLUSH_TIMEOUT_MS);
    timer.unref?.();
    this.stream.end(() => {
      clearTimeout(timer);
      this.close(reason);
    });
  }

  close(reason: Error | undefined): void {
    if (this.done) return;
    this.done = true;
    for (const [event, fn] of this.listeners) this.stream.off(event, fn);
    // A late error from a stream being torn down must not become an uncaught exception.
    this.stream.on('error', () => {});
    this.stream.destroy();
    this.onClose(reason);
  }
}

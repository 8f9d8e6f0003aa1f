/**
 * Length-prefixed frames: a 4-byte unsigned big-endian payload length, then
 * the payload (one encoded protobuf envelope). The length is checked against
 * the cap before a single byte of the payload is buffered or allocated.
 */

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/**
 * The largest payload either side accepts. The biggest legitimate message is a
 * sign request whose transaction data is bounded by the API's 1 MiB body
 * limit, plus a blob and an envelope; 4 MiB leaves room and still bounds
 * memory per connection.
 */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** Why a byte stream is not a valid sequence of frames. */
export type FrameErrorCode = 'FRAME_TOO_LARGE' | 'FRAME_EMPTY' | 'FRAME_TRUNCATED';

/** The byte stream is not a valid sequence of frames; the stream cannot be resynchronised. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function checkLength(length: number, maxFrameBytes: number): void {
  if (length === 0) throw new FrameError('FRAME_EMPTY', 'frame with an empty payload');
  if (length > maxFrameBytes) {
    throw new FrameError('FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${maxFrameBytes}`);
  }
}

/**
 * Frames one payload.
 *
 * @throws {FrameError} FRAME_EMPTY or FRAME_TOO_LARGE
 */
export function encodeFrame(payload: Uint8Array, maxFrameBytes: number = MAX_FRAME_BYTES): Buffer {
  checkLength(payload.length, maxFrameBytes);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Incremental decoder: feed it the chunks of a byte stream in order, get back
 * whole payloads. After the first error it stays failed, since a stream that
 * lost its framing cannot be trusted again.
 */
export class FrameDecoder {
  private readonly chunks: Buffer[] = [];
  /** Read position inside chunks[0]. */
  private offset = 0;
  private buffered = 0;
  /** Payload length of the frame being assembled, once its header is read. */
  private pending: number | undefined;
  private failure: FrameError | undefined;

  constructor(private readonly maxFrameBytes: number = MAX_FRAME_BYTES) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1 || maxFrameBytes > 0xffffffff) {
      throw new RangeError('maxFrameBytes must be an integer from 1 to 2^32-1');
    }
  }

  /** Bytes received but not yet returned as a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Adds a chunk and returns every frame it completes (possibly none).
   *
   * @throws {FrameError} on an oversize or empty frame, now and on every later call
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    try {
      for (;;) {
        if (this.pending === undefined) {
          if (this.buffered < FRAME_HEADER_BYTES) break;
          const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
          checkLength(length, this.maxFrameBytes);
          this.pending = length;
        }
        if (this.buffered < this.pending) break;
        frames.push(this.take(this.pending));
        this.pending = undefined;
      }
    } catch (err) {
      this.fail(err as FrameError);
      throw err;
    }
    return frames;
  }

  /**
   * Declares the end of the stream.
   *
   * @throws {FrameError} FRAME_TRUNCATED when a partial frame is left over
   */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.buffered > 0 || this.pending !== undefined) {
      const err = new FrameError('FRAME_TRUNCATED', `stream ended inside a frame (${this.buffered} bytes left over)`);
      this.fail(err);
      throw err;
    }
  }

  private fail(err: FrameError): void {
    this.failure = err;
    this.chunks.length = 0;
    this.buffered = 0;
    this.offset = 0;
  }

  /** Removes exactly n buffered bytes (n <= buffered) into a new buffer. */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    while (written < n) {
      const head = this.chunks[0]!;
      const available = head.length - this.offset;
      const count = Math.min(available, n - written);
      head.copy(out, written, this.offset, this.offset + count);
      written += count;
      this.offset += count;
      if (this.offset === head.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.buffered -= n;
    return out;
  }
}

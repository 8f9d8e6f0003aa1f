/**
 * The guard's HTTP/1.1 client: one request shape (a POST with a whole body,
 * one request at a time per connection, connections kept), written for the
 * enclave's main thread instead of node:http.
 *
 * Why: every PIN guess and every passkey assertion costs a guard write, on
 * the core the PIN stretch runs on. Measured on the development machine
 * against dynalite on the other core (the same signed UpdateItem): node:http
 * spent 0.35–0.38 ms of CPU per call one at a time and 0.18–0.23 ms sixteen at
 * once, this client 0.13–0.17 and 0.09–0.11 ms (docs/performance.md, seventh
 * look). node:http builds a ClientRequest, an IncomingMessage with its stream,
 * header maps, listeners and an agent's bookkeeping per call; here a request
 * is one string written once, and the answer is read where it ends.
 *
 * What it reads, strictly (anything else fails the request and closes the
 * connection; the caller's retry then uses a new one): a status line
 * `HTTP/1.x NNN`, header lines `name: value` (no folding), each head within
 * 16 KiB (interim 1xx answers are skipped), then a body delimited by one
 * Content-Length, by chunked transfer coding (HTTP/1.1 only), or by the
 * connection's end (HTTP/1.0 style); the body within `maxAnswerBytes`, and
 * everything received for one answer (interim answers and framing included)
 * within that plus 64 KiB. The body is copied into one buffer as it comes,
 * grown by doubling: memory follows what was received, not what was announced.
 * Bytes beyond the answer, or bytes on an idle connection, close it. A connection is kept after an answer
 * unless the server says `Connection: close` or speaks HTTP/1.0; an idle one
 * is closed a second before the server's `Keep-Alive: timeout=N` says it
 * would close it, and never keeps the process alive.
 *
 * On Nitro the bytes come through TLS made inside the enclave (the connector
 * given), so only the endpoint that holds DynamoDB's certificate can send
 * them; the parsing is still bounded for any input: linear time and memory in
 * what is received, however it is split (enclave/test/guard-http1.test.ts).
 * A connection being made has a deadline of its own (the request's timeout):
 * a handshake the other end stalls gives its slot back; one that completes
 * after its request gave up serves the next request. A request that times out
 * waiting leaves the queue.
 */
import { isIP, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/**
 * A new connection to the endpoint, ready for bytes (TCP connected, or TLS established). `signal` aborts it (the
 * request that asked for it timed out, or the client closed): the connector then destroys what it opened and
 * rejects. What it resolves keeps an error listener of its own, so an error before the client's are attached
 * destroys the connection instead of throwing.
 */
export type Connect = (signal: AbortSignal) => Promise<Duplex>;

export interface Http1Options {
  /** Connections open at most; requests beyond wait for one. */
  maxSockets: number;
  /** Milliseconds from the call (waiting for a connection included) to the answer's end; then the request fails. */
  timeoutMs: number;
  /** The largest body accepted (a guard item is at most 400 KB in DynamoDB). */
  maxAnswerBytes?: number;
}

export interface Http1Answer {
  status: number;
  body: Buffer;
}

/** The request failed on the way (connection, timeout, an answer that is not HTTP/1.1); nothing is known of its effect. */
export class Http1Error extends Error {
  override readonly name = 'Http1Error';
}

const MAX_HEAD_BYTES = 16 * 1024;
/** What one answer may carry besides its body: its heads (interim ones included) and the chunked framing. */
const MAX_OVERHEAD_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 1024;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: |$)/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DIGITS = /^\d{1,10}$/;
const HEX = /^[0-9a-fA-F]{1,8}$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|,)\s*timeout\s*=\s*(\d{1,6})\s*(?:,|$)/i;
const END_OF_HEAD = Buffer.from('\r\n\r\n', 'latin1');

/** What an answer's head says about its body and the connection. */
export interface Head {
  status: number;
  length?: number;
  chunked: boolean;
  keep: boolean;
  /** Seconds, from `Keep-Alive: timeout=N`. */
  idleSeconds?: number;
}

const fail = (message: string): never => {
  throw new Http1Error(message);
};

/** An answer's head (status line and header lines, without the blank line); undefined for an interim 1xx. */
function parseHead(text: string): Head | undefined {
  const lines = text.split('\r\n');
  const status = STATUS_LINE.exec(lines[0]!) ?? fail('the answer is not HTTP/1.x');
  const code = Number(status[2]);
  if (code < 200) {
    if (code === 101) fail('the server switched protocols');
    return undefined;
  }
  const http11 = status[1] === '1';
  let length: number | undefined;
  let chunked = false;
  let keep = http11;
  let idleSeconds: number | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) fail('a header line of the answer is malformed');
    const lower = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (lower === 'content-length') {
      if (!DIGITS.test(value) || (length !== undefined && length !== Number(value))) fail('the answer’s Content-Length is malformed');
      length = Number(value);
    } else if (lower === 'transfer-encoding') {
      // RFC 9112 §6.1: a transfer coding in an HTTP/1.0 answer means faulty framing.
      if (!http11 || value.toLowerCase() !== 'chunked' || chunked) fail(`the answer’s transfer coding is not supported: ${value}`);
      chunked = true;
    } else if (lower === 'connection') {
      const tokens = value
        .toLowerCase()
        .split(',')
        .map((t) => t.trim());
      if (tokens.includes('close')) keep = false;
      else if (tokens.includes('keep-alive')) keep = true;
    } else if (lower === 'keep-alive') {
      const m = KEEP_ALIVE_TIMEOUT.exec(value);
      if (m) idleSeconds = Number(m[1]);
    }
  }
  if (chunked && length !== undefined) fail('the answer has both a Content-Length and a chunked body');
  // 204 and 304 have no body, whatever their headers say (RFC 9112 §6.3, rule 1).
  if (code === 204 || code === 304) return { status: code, length: 0, chunked: false, keep, ...(idleSeconds !== undefined ? { idleSeconds } : {}) };
  // No length and no chunks: the body runs to the connection's end (rule 8).
  if (!chunked && length === undefined) keep = false;
  return { status: code, ...(length !== undefined ? { length } : {}), chunked, keep, ...(idleSeconds !== undefined ? { idleSeconds } : {}) };
}

/** A whole answer: its head and body. */
export interface Answer {
  head: Head;
  body: Buffer;
}

/**
 * Reads one answer from the bytes of a connection, in whatever pieces they come. Each byte is looked at a bounded
 * number of times and the body is copied into one buffer (grown by doubling as bytes come), so
 * time and memory are linear in what the server sends, however it splits it, and bounded by the limits above.
 * Throws Http1Error on anything that is not a well-formed answer within them.
 */
export class AnswerReader {
  private state: 'head' | 'body' | 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'head';
  /** The head so far (at most MAX_HEAD_BYTES + 4), as pieces. */
  private headParts: Buffer[] = [];
  private headSize = 0;
  /** The last 3 bytes of the head so far, to find its end across pieces. */
  private tail = '';
  private body: Buffer | undefined;
  private bodySize = 0;
  /** Bytes received for this answer, all of them. */
  private received = 0;
  private line = '';
  private left = 0;
  private head: Head | undefined;

  constructor(private readonly maxAnswerBytes: number) {}

  /** The answer once whole, else undefined. */
  push(chunk: Buffer): Answer | undefined {
    const before = this.received;
    this.received += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'done') fail('the server sent more than one answer');
      at = this.step(chunk, at);
      // What is not body (heads, interim answers, chunk framing) is bounded on its own, as it is read.
      if (before + at - this.bodySize > MAX_OVERHEAD_BYTES) fail('the answer is too large');
    }
    return this.state === 'done' ? this.answer() : undefined;
  }

  /** The connection ended: the answer if its body ran to the end, else an error. */
  end(): Answer {
    if (this.untilEnd) this.state = 'done';
    return this.state === 'done' ? this.answer() : fail('the connection closed before the answer');
  }

  /** Whether the body runs to the connection's end (so the end is expected, not a failure). */
  get untilEnd(): boolean {
    return this.state === 'body' && this.head !== undefined && this.head.length === undefined && !this.head.chunked;
  }

  private answer(): Answer {
    return { head: this.head!, body: this.body ? this.body.subarray(0, this.bodySize) : Buffer.alloc(0) };
  }

  /** Body bytes, copied into the answer's one buffer. */
  private keep(piece: Buffer): void {
    const size = this.bodySize + piece.length;
    if (size > this.maxAnswerBytes) fail('the answer is too large');
    if (!this.body || this.body.length < size) {
      const grown = Buffer.alloc(Math.min(this.maxAnswerBytes, Math.max(size, 2 * (this.body?.length ?? 0), 256)));
      if (this.body) this.body.copy(grown, 0, 0, this.bodySize);
      this.body = grown;
    }
    piece.copy(this.body, this.bodySize);
    this.bodySize = size;
  }

  private step(chunk: Buffer, at: number): number {
    switch (this.state) {
      case 'head': {
        // The end of the head may straddle pieces (the last 3 bytes before this piece); past that, it is searched
        // only within what the head may still take.
        let used = -1;
        const probe = this.tail + chunk.toString('latin1', at, Math.min(chunk.length, at + 3));
        const straddle = this.tail ? probe.indexOf('\r\n\r\n') : -1;
        if (straddle >= 0) used = straddle + 4 - this.tail.length;
        else {
          const window = chunk.subarray(at, Math.min(chunk.length, at + MAX_HEAD_BYTES + 4 - this.headSize));
          const found = window.indexOf(END_OF_HEAD);
          if (found >= 0) used = found + 4;
        }
        const take = used < 0 ? chunk.length - at : used;
        this.headSize += take;
        if (this.headSize > MAX_HEAD_BYTES + 4) fail('the answer’s head is too large');
        this.headParts.push(chunk.subarray(at, at + take));
        if (used < 0) {
          this.tail = (this.tail + chunk.toString('latin1', Math.max(at, chunk.length - 3), chunk.length)).slice(-3);
          return chunk.length;
        }
        const text = Buffer.concat(this.headParts, this.headSize).toString('latin1', 0, this.headSize - 4);
        this.headParts = [];
        this.headSize = 0;
        this.tail = '';
        const head = parseHead(text);
        if (!head) return at + take; // an interim answer: the next head follows (their bytes count in `received`)
        this.head = head;
        if (head.chunked) this.state = 'size';
        else if (head.length === 0) this.state = 'done';
        else {
          if (head.length !== undefined && head.length > this.maxAnswerBytes) fail('the answer is too large');
          this.left = head.length ?? Infinity;
          this.state = 'body';
        }
        return at + take;
      }
      case 'body':
      case 'data': {
        const take = Math.min(this.left, chunk.length - at);
        this.keep(chunk.subarray(at, at + take));
        this.left -= take;
        if (this.left === 0) {
          this.state = this.state === 'body' ? 'done' : 'data-end';
          this.line = '';
        }
        return at + take;
      }
      case 'size':
      case 'trailer': {
        const eol = chunk.indexOf(0x0a, at);
        const end = eol < 0 ? chunk.length : eol + 1;
        if (this.line.length + (end - at) > MAX_LINE_BYTES) fail('a line of the answer’s chunked body is too long');
        this.line += chunk.toString('latin1', at, end);
        if (eol < 0) return end;
        const line = this.line;
        this.line = '';
        if (!line.endsWith('\r\n')) fail('a line of the answer’s chunked body is malformed');
        const content = line.slice(0, -2);
        if (this.state === 'trailer') {
          if (content === '') this.state = 'done';
          return end;
        }
        const semi = content.indexOf(';');
        const hex = (semi < 0 ? content : content.slice(0, semi)).replace(/[ \t]+$/, '');
        if (!HEX.test(hex)) fail('a chunk size line of the answer is malformed');
        this.left = parseInt(hex, 16);
        this.state = this.left === 0 ? 'trailer' : 'data';
        return end;
      }
      case 'data-end': {
        // The CRLF after a chunk's data, possibly split.
        const got = chunk.toString('latin1', at, Math.min(chunk.length, at + 2 - this.line.length));
        this.line += got;
        if (this.line.length === 2) {
          if (this.line !== '\r\n') fail('a chunk of the answer is malformed');
          this.line = '';
          this.state = 'size';
        }
        return at + got.length;
      }
      default:
        return fail('the server sent more than one answer');
    }
  }
}

/** One request on a connection. */
interface Exchange {
  reader: AnswerReader;
  resolve: (answer: Http1Answer) => void;
  reject: (err: Error) => void;
}

interface Connection {
  socket: Duplex;
  exchange: Exchange | undefined;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** The server's last `Keep-Alive: timeout=N`. */
  idleSeconds: number | undefined;
  closed: boolean;
}

/** A request waiting for a connection (or for why there is none). */
interface Waiter {
  /** Whether it took the connection (a request that timed out meanwhile does not). */
  take(c: Connection | Error): boolean;
}

export class Http1Client {
  private readonly all = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly waiting: Waiter[] = [];
  /** Connections being made, each with what abandons it (when the client closes). */
  private readonly connecting = new Map<AbortController, (err: Error) => void>();
  /** Connections open or being made: never more than `maxSockets`. */
  private get open(): number {
    return this.all.size + this.connecting.size;
  }
  private destroyed = false;
  private readonly maxAnswerBytes: number;

  constructor(
    private readonly connect: Connect,
    private readonly options: Http1Options,
  ) {
    this.maxAnswerBytes = options.maxAnswerBytes ?? 4 * 1024 * 1024;
  }

  /** Sends `head` (the request line and headers, ending in a blank line) and `body` as one write; the answer's status and body. */
  request(head: string, body: string): Promise<Http1Answer> {
    return new Promise<Http1Answer>((resolve, reject) => {
      let done = false;
      let connection: Connection | undefined;
      const finish = (err: Error | undefined, answer?: Http1Answer): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(answer!);
      };
      const waiter: Waiter = {
        take: (c) => {
          if (c instanceof Error) {
            finish(c);
            return false;
          }
          // Timed out while its connection was being made: the connection goes to the next request, or idles.
          if (done) return false;
          connection = c;
          c.exchange = { reader: new AnswerReader(this.maxAnswerBytes), resolve: (a) => finish(undefined, a), reject: (e) => finish(e) };
          c.socket.write(head + body);
          return true;
        },
      };
      const timer = setTimeout(() => {
        if (connection) return this.drop(connection, new Http1Error(`timed out: no answer within ${this.options.timeoutMs} ms`));
        // Still waiting: out of the queue. A connection being made for it goes on, under its own deadline.
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        finish(new Http1Error(`timed out: no connection within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      this.acquire(waiter);
    });
  }

  /** Closes every connection and aborts those being made; requests in flight and waiting fail. */
  destroy(): void {
    this.destroyed = true;
    for (const w of this.waiting.splice(0)) w.take(new Http1Error('the client was closed'));
    for (const abandon of [...this.connecting.values()]) abandon(new Http1Error('the client was closed'));
    for (const c of [...this.all]) this.drop(c, new Http1Error('the client was closed'));
  }

  private acquire(waiter: Waiter): void {
    if (this.destroyed) return void waiter.take(new Http1Error('the client was closed'));
    const c = this.idle.pop();
    if (c) {
      if (c.idleTimer) clearTimeout(c.idleTimer);
      c.idleTimer = undefined;
      ref(c.socket, true);
      if (!waiter.take(c)) this.release(c);
      return;
    }
    if (this.open >= this.options.maxSockets) {
      this.waiting.push(waiter);
      return;
    }
    // A new connection, within its own deadline: at the deadline (or when the client closes) the attempt is abandoned
    // and its slot given back, whether or not the connector heeds the abort; a connection it delivers later is closed.
    const attempt = new AbortController();
    let over = false;
    const end = (err: Error | undefined): boolean => {
      if (over) return false;
      over = true;
      clearTimeout(deadline);
      this.connecting.delete(attempt);
      if (err) {
        try {
          waiter.take(err);
        } finally {
          this.next();
        }
      }
      return true;
    };
    const failed = (err: unknown): void => {
      const reason = err instanceof Error ? err.message : String(err);
      end(err instanceof Http1Error ? err : new Http1Error(`could not connect: ${reason}`, err instanceof Error ? { cause: err } : {}));
    };
    const abandon = (err: Error): void => {
      attempt.abort();
      end(err);
    };
    this.connecting.set(attempt, abandon);
    const deadline = setTimeout(() => abandon(new Http1Error(`timed out: no connection within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    let pending: Promise<Duplex>;
    try {
      pending = this.connect(attempt.signal);
    } catch (err) {
      // Failed later, not here: a connector that always throws must not recurse through the queue.
      queueMicrotask(() => failed(err));
      return;
    }
    pending.then((socket) => {
      if (this.destroyed || socket.destroyed) {
        socket.destroy();
        return failed(new Http1Error(this.destroyed ? 'the client was closed' : 'the connection closed while it was made'));
      }
      if (!end(undefined)) return void socket.destroy(); // abandoned meanwhile
      const c = this.adopt(socket);
      if (!waiter.take(c)) this.release(c);
    }, failed);
  }

  /** The first waiting request gets a connection (a kept one, or a new one in place of one that closed). */
  private next(): void {
    const waiter = this.waiting.shift();
    if (waiter) this.acquire(waiter);
  }

  private adopt(socket: Duplex): Connection {
    const c: Connection = { socket, exchange: undefined, idleTimer: undefined, idleSeconds: undefined, closed: false };
    this.all.add(c);
    socket.on('data', (chunk: Buffer) => this.onData(c, chunk));
    socket.on('end', () => this.onEnd(c));
    socket.on('error', (err: Error) => this.drop(c, new Http1Error(`the connection failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.drop(c, new Http1Error('the connection closed before the answer')));
    return c;
  }

  private onData(c: Connection, chunk: Buffer): void {
    const x = c.exchange;
    if (!x) return this.drop(c, undefined); // bytes nobody asked for
    let answer: Answer | undefined;
    try {
      answer = x.reader.push(chunk);
    } catch (err) {
      return this.drop(c, err as Error);
    }
    if (!answer) return;
    c.exchange = undefined;
    x.resolve({ status: answer.head.status, body: answer.body });
    if (answer.head.idleSeconds !== undefined) c.idleSeconds = answer.head.idleSeconds;
    if (answer.head.keep) this.release(c);
    else this.drop(c, undefined);
  }

  private onEnd(c: Connection): void {
    const x = c.exchange;
    if (x?.reader.untilEnd) {
      c.exchange = undefined;
      let answer: Answer;
      try {
        answer = x.reader.end();
      } catch (err) {
        x.reject(err as Error);
        return this.drop(c, undefined);
      }
      x.resolve({ status: answer.head.status, body: answer.body });
    }
    this.drop(c, new Http1Error('the connection closed before the answer'));
  }

  /** A connection back to the pool after a whole answer: to the first waiting request, else idle. */
  private release(c: Connection): void {
    if (this.destroyed || c.closed) return this.drop(c, undefined);
    // (A loop, not a recursion: a waiter that no longer wants it passes it on.)
    for (let waiter = this.waiting.shift(); waiter; waiter = this.waiting.shift()) if (waiter.take(c)) return;
    ref(c.socket, false);
    // A second before the server says it closes an idle connection (a request then would meet its close).
    if (c.idleSeconds !== undefined) {
      c.idleTimer = setTimeout(() => this.drop(c, undefined), Math.max(0, c.idleSeconds * 1000 - 1000));
      c.idleTimer.unref();
    }
    this.idle.push(c);
  }

  /** Closes a connection for good; its request, if any, fails with `err`. */
  private drop(c: Connection, err: Error | undefined): void {
    const x = c.exchange;
    c.exchange = undefined;
    if (c.idleTimer) clearTimeout(c.idleTimer);
    c.idleTimer = undefined;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (!c.closed) {
      c.closed = true;
      this.all.delete(c);
      c.socket.destroy();
      this.next();
    }
    if (x) x.reject(err ?? new Http1Error('the connection was closed'));
  }
}

/** An error on a connection nobody listens to yet destroys it (the client's listeners then see it closed). */
const guarded = <T extends Duplex>(socket: T): T => socket.on('error', () => socket.destroy());

/** Resolves with `socket` once `ready` fires; an error, or `signal`, destroys it and rejects. */
export function whenReady<T extends Duplex>(socket: T, ready: string, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onError = (err: Error): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => onError(new Http1Error('the connection attempt was abandoned'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once(ready, () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(guarded(socket));
    });
  });
}

/** A TCP connection (Nagle off: a request is one write, and its answer is awaited). */
export function tcpConnector(host: string, port: number): Connect {
  return (signal) => whenReady(netConnect({ host, port, noDelay: true }), 'connect', signal);
}

/** A TLS connection to `host` (verified against `tls.ca`, else Node's roots; SNI unless `host` is an address), offering HTTP/1.1 only. */
export function tlsConnector(host: string, port: number, tls: Pick<ConnectionOptions, 'ca'> = {}): Connect {
  return (signal) =>
    whenReady(tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'], ...tls }), 'secureConnect', signal).then(
      (socket) => socket.setNoDelay(true),
    );
}

/** Keeps the process alive only while a request is in flight on the socket (TCP and TLS sockets have ref/unref). */
function ref(socket: Duplex, on: boolean): void {
  const s = socket as Duplex & { ref?: () => void; unref?: () => void };
  if (on) s.ref?.();
  else s.unref?.();
}

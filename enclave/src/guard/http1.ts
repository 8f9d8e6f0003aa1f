/**
 * The guard's HTTP/1.1 client: one request shape (a POST with a whole body,
 * one request at a time per connection, connections kept), written for the
 * enclave's main thread instead of node:http.
 *
 * Why: every PIN guess and every passkey assertion costs a guard write, on
 * the core the PIN stretch runs on. Measured on the development machine
 * against dynalite on the other core (the same signed UpdateItem): node:http
 * spent 0.35–0.38 ms of CPU per call one at a time and 0.18–0.23 ms sixteen at
 * once, this client 0.15–0.17 and 0.10–0.13 ms (docs/performance.md, seventh
 * look). node:http builds a ClientRequest, an IncomingMessage with its stream,
 * header maps, listeners and an agent's bookkeeping per call; here a request
 * is one string written once, and the answer is read where it ends.
 *
 * What it reads, strictly (anything else fails the request and closes the
 * connection; the caller's retry then uses a new one): a status line
 * `HTTP/1.x NNN`, header lines `name: value` (no folding), the head within
 * 16 KiB, interim 1xx answers skipped, then a body delimited by one
 * Content-Length, by chunked transfer coding, or by the connection's end
 * (HTTP/1.0 style), within `maxAnswerBytes`. Bytes beyond the answer, or bytes
 * on an idle connection, close it. A connection is kept after an answer
 * unless the server says `Connection: close` or speaks HTTP/1.0; an idle one
 * is closed a second before the server's `Keep-Alive: timeout=N` says it
 * would close it, and never keeps the process alive.
 *
 * On Nitro the bytes come through TLS made inside the enclave (the connector
 * given), so only the endpoint that holds DynamoDB's certificate can send
 * them; the parsing is still bounded for any input (enclave/test/guard-http1.test.ts).
 */
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/** A new connection to the endpoint, ready for bytes (TCP connected, or TLS established). */
export type Connect = () => Promise<Duplex>;

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
const MAX_LINE_BYTES = 1024;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: |$)/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DIGITS = /^\d{1,10}$/;
const HEX = /^[0-9a-fA-F]{1,8}$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|,)\s*timeout\s*=\s*(\d{1,6})\s*(?:,|$)/i;

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
export function parseHead(text: string): Head | undefined {
  const lines = text.split('\r\n');
  const status = STATUS_LINE.exec(lines[0]!) ?? fail('the answer is not HTTP/1.x');
  const code = Number(status[2]);
  if (code < 200) {
    if (code === 101) fail('the server switched protocols');
    return undefined;
  }
  let length: number | undefined;
  let chunked = false;
  let keep = status[1] === '1';
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
      if (value.toLowerCase() !== 'chunked' || chunked) fail(`the answer’s transfer coding is not supported: ${value}`);
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
  // No length and no chunks: the body runs to the connection's end (RFC 9112 §6.3), except where there is none.
  if (!chunked && length === undefined && (code === 204 || code === 304)) length = 0;
  if (!chunked && length === undefined) keep = false;
  return { status: code, ...(length !== undefined ? { length } : {}), chunked, keep, ...(idleSeconds !== undefined ? { idleSeconds } : {}) };
}

/** A whole answer: its head and body. */
export interface Answer {
  head: Head;
  body: Buffer;
}

/**
 * Reads one answer from the bytes of a connection, in whatever pieces they come; every byte is looked at once
 * (no re-scan, no growing copy), so its cost is linear in what the server sends, however it splits it.
 * Throws Http1Error on anything that is not a well-formed answer within the limits.
 */
export class AnswerReader {
  private state: 'head' | 'body' | 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'head';
  private parts: Buffer[] = [];
  /** Bytes in `parts` (the head's so far, then the body's). */
  private size = 0;
  /** The last bytes of the head so far, to find its end across pieces. */
  private tail = '';
  private line = '';
  private left = 0;
  private head: Head | undefined;

  constructor(private readonly maxAnswerBytes: number) {}

  /** The answer once whole (then `extra` says whether bytes followed it), else undefined. */
  push(chunk: Buffer): Answer | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'done') fail('the server sent more than one answer');
      at = this.step(chunk, at);
    }
    return this.state === 'done' ? this.answer() : undefined;
  }

  /** The connection ended: the answer if its body ran to the end, else an error. */
  end(): Answer {
    if (this.state === 'body' && this.head && this.head.length === undefined && !this.head.chunked) {
      this.state = 'done';
      return this.answer();
    }
    if (this.state === 'done') return this.answer();
    return fail('the connection closed before the answer');
  }

  /** Whether the body runs to the connection's end (so the end is expected, not a failure). */
  get untilEnd(): boolean {
    return this.state === 'body' && this.head !== undefined && this.head.length === undefined && !this.head.chunked;
  }

  private answer(): Answer {
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    return { head: this.head!, body };
  }

  private keep(piece: Buffer): void {
    this.size += piece.length;
    if (this.size > this.maxAnswerBytes) fail('the answer is too large');
    this.parts.push(piece);
  }

  private step(chunk: Buffer, at: number): number {
    switch (this.state) {
      case 'head': {
        // The head's end may straddle pieces: search the last 3 bytes before this piece with it.
        const probe = this.tail + chunk.toString('latin1', at, Math.min(chunk.length, at + MAX_HEAD_BYTES + 4));
        const found = probe.indexOf('\r\n\r\n');
        const used = found < 0 ? chunk.length - at : found + 4 - this.tail.length;
        this.size += used;
        if (this.size > MAX_HEAD_BYTES + 4) fail('the answer’s head is too large');
        this.parts.push(chunk.subarray(at, at + used));
        if (found < 0) {
          this.tail = probe.slice(-3);
          return chunk.length;
        }
        const text = Buffer.concat(this.parts, this.size).toString('latin1', 0, this.size - 4);
        this.parts = [];
        this.size = 0;
        this.tail = '';
        const head = parseHead(text);
        if (!head) return at + used; // an interim answer: the next head follows
        this.head = head;
        if (head.chunked) this.state = 'size';
        else if (head.length === 0) this.state = 'done';
        else {
          if (head.length !== undefined && head.length > this.maxAnswerBytes) fail('the answer is too large');
          this.left = head.length ?? Infinity;
          this.state = 'body';
        }
        return at + used;
      }
      case 'body': {
        const take = Math.min(this.left, chunk.length - at);
        this.keep(chunk.subarray(at, at + take));
        this.left -= take;
        if (this.left === 0) this.state = 'done';
        return at + take;
      }
      case 'size':
      case 'trailer': {
        const eol = chunk.indexOf(0x0a, at);
        const end = eol < 0 ? chunk.length : eol + 1;
        this.line += chunk.toString('latin1', at, end);
        if (this.line.length > MAX_LINE_BYTES) fail('a line of the answer’s chunked body is too long');
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
        const hex = semi < 0 ? content : content.slice(0, semi);
        if (!HEX.test(hex)) fail('a chunk size line of the answer is malformed');
        this.left = parseInt(hex, 16);
        this.state = this.left === 0 ? 'trailer' : 'data';
        return end;
      }
      case 'data': {
        const take = Math.min(this.left, chunk.length - at);
        this.keep(chunk.subarray(at, at + take));
        this.left -= take;
        if (this.left === 0) {
          this.state = 'data-end';
          this.line = '';
        }
        return at + take;
      }
      case 'data-end': {
        // The CRLF after a chunk's data, possibly split.
        const need = 2 - this.line.length;
        const got = chunk.toString('latin1', at, Math.min(chunk.length, at + need));
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
  closed: boolean;
}

/** A connection for a waiting request, or why there is none. */
type Take = (c: Connection | Error) => void;

export class Http1Client {
  private readonly all = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly waiting: Take[] = [];
  private open = 0;
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
      const timer = setTimeout(() => {
        if (connection) this.drop(connection, new Http1Error(`timed out: no answer within ${this.options.timeoutMs} ms`));
        else finish(new Http1Error(`timed out: no connection within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      this.acquire((c) => {
        if (c instanceof Error) return finish(c);
        if (done) return this.release(c, undefined); // timed out while waiting: the connection goes to the next one
        connection = c;
        c.exchange = { reader: new AnswerReader(this.maxAnswerBytes), resolve: (a) => finish(undefined, a), reject: (e) => finish(e) };
        c.socket.write(head + body);
      });
    });
  }

  /** Closes every connection; requests in flight and waiting fail. */
  destroy(): void {
    this.destroyed = true;
    for (const take of this.waiting.splice(0)) take(new Http1Error('the client was closed'));
    for (const c of [...this.all]) this.drop(c, new Http1Error('the client was closed'));
  }

  private acquire(take: Take): void {
    if (this.destroyed) return take(new Http1Error('the client was closed'));
    const c = this.idle.pop();
    if (c) {
      if (c.idleTimer) clearTimeout(c.idleTimer);
      c.idleTimer = undefined;
      ref(c.socket, true);
      return take(c);
    }
    if (this.open >= this.options.maxSockets) {
      this.waiting.push(take);
      return;
    }
    this.open++;
    this.connect().then(
      (socket) => take(this.adopt(socket)),
      (err: Error) => {
        this.open--;
        take(new Http1Error(`could not connect: ${err.message}`, { cause: err }));
        this.next();
      },
    );
  }

  /** The first waiting request gets a connection (a kept one, or a new one in place of one that closed). */
  private next(): void {
    const take = this.waiting.shift();
    if (take) this.acquire(take);
  }

  private adopt(socket: Duplex): Connection {
    const c: Connection = { socket, exchange: undefined, idleTimer: undefined, closed: false };
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
    if (answer.head.keep) this.release(c, answer.head.idleSeconds);
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

  /** A connection back to the pool after a whole answer. */
  private release(c: Connection, idleSeconds: number | undefined): void {
    if (this.destroyed || c.closed) return this.drop(c, undefined);
    const take = this.waiting.shift();
    if (take) return take(c);
    ref(c.socket, false);
    // A second before the server says it closes an idle connection (a request then would meet its close).
    if (idleSeconds !== undefined) {
      c.idleTimer = setTimeout(() => this.drop(c, undefined), Math.max(0, idleSeconds * 1000 - 1000));
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
      this.open--;
      this.next();
    }
    if (x) x.reject(err ?? new Http1Error('the connection was closed'));
  }
}

/** A TCP connection (Nagle off: a request is one write, and its answer is awaited). */
export function tcpConnector(host: string, port: number): Connect {
  return () =>
    new Promise<Duplex>((resolve, reject) => {
      const socket = netConnect({ host, port, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
    });
}

/** A TLS connection to `host` (verified against `tls.ca`, else Node's roots), offering HTTP/1.1 only. */
export function tlsConnector(host: string, port: number, tls: Pick<ConnectionOptions, 'ca'> = {}): Connect {
  return () =>
    new Promise<Duplex>((resolve, reject) => {
      const socket = tlsConnect({ host, port, servername: host, ALPNProtocols: ['http/1.1'], ...tls });
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(socket);
      });
    });
}

/** Keeps the process alive only while a request is in flight on the socket (TCP and TLS sockets have ref/unref). */
function ref(socket: Duplex, on: boolean): void {
  const s = socket as Duplex & { ref?: () => void; unref?: () => void };
  if (on) s.ref?.();
  else s.unref?.();
}

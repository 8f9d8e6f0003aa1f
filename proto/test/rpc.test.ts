import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { EnclaveWalletError } from '../src/errors.js';
import { encodeFrame, FrameDecoder } from '../src/framing.js';
import { PROTOCOL_VERSION, v1 } from '../src/messages.js';
import { RpcClient, serveConnection, startRpcServer, type Handlers } from '../src/index.js';

/**
 * Two connected in-memory byte streams, like the two ends of a socket: what
 * one writes the other reads; when one is destroyed or ends, the other sees
 * the end of its input.
 */
function socketPair(): [Duplex, Duplex] {
  const make = (): Duplex & { peer?: Duplex } =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const peer = (this as Duplex & { peer?: Duplex }).peer!;
        if (!peer.destroyed) peer.push(Buffer.from(chunk));
        cb();
      },
      final(cb) {
        const peer = (this as Duplex & { peer?: Duplex }).peer!;
        if (!peer.destroyed) peer.push(null);
        cb();
      },
      destroy(err, cb) {
        const peer = (this as Duplex & { peer?: Duplex }).peer!;
        if (!peer.destroyed && !peer.readableEnded) peer.push(null);
        cb(err);
      },
    });
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Reads the frames one end receives, decoded as enclave answers. */
function collectAnswers(stream: Duplex): v1.EnclaveResponse[] {
  const decoder = new FrameDecoder();
  const out: v1.EnclaveResponse[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) out.push(v1.EnclaveResponse.decode(f));
  });
  return out;
}

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('RpcClient and serveConnection', () => {
  test('answers are matched by request id even when they come back in reverse order', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    const release: Array<() => void> = [];
    serveConnection(enclaveEnd, {
      getAttestation: (body) =>
        new Promise((resolve) => {
          release.push(() => resolve({ document: body.nonce }));
        }),
    });
    const rpc = new RpcClient(hostEnd);
    const calls = [1, 2, 3, 4].map((n) => rpc.call('getAttestation', { nonce: Uint8Array.of(n) }));
    while (release.length < 4) await tick(1);
    for (const r of release.reverse()) r();
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.document![0])).toEqual([1, 2, 3, 4]);
    expect(rpc.inFlight).toBe(0);
    rpc.close();
  });

  test('a handler error reaches the caller as a typed error with its details', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    serveConnection(enclaveEnd, {
      async sign() {
        throw new EnclaveWalletError('PIN_INVALID', 'wrong PIN', { attemptsLeft: 3 });
      },
    });
    const rpc = new RpcClient(hostEnd);
    const err = (await rpc.call('sign', { walletId: 'w' }).catch((e: unknown) => e)) as EnclaveWalletError;
    expect(err).toBeInstanceOf(EnclaveWalletError);
    expect(err.code).toBe('PIN_INVALID');
    expect(err.details).toEqual({ attemptsLeft: 3 });
    expect(Object.keys(err)).not.toContain('sealedBlob');
    rpc.close();
  });

  test('attemptsLeft crosses as sent, 0 included; absent stays absent (a passkey refusal not counted)', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    const sent = [
      new EnclaveWalletError('PASSKEY_INVALID', 'refused: counter', { attemptsLeft: 0, reason: 'counter' }),
      new EnclaveWalletError('PASSKEY_INVALID', 'refused: origin (nothing was counted)', { reason: 'origin' }),
      new EnclaveWalletError('PIN_INVALID', 'wrong PIN', { attemptsLeft: 0 }),
    ];
    let n = 0;
    serveConnection(enclaveEnd, {
      async sign() {
        throw sent[n++]!;
      },
    });
    const rpc = new RpcClient(hostEnd);
    const got = [];
    for (let i = 0; i < sent.length; i++) got.push(((await rpc.call('sign', { walletId: 'w' }).catch((e: unknown) => e)) as EnclaveWalletError).details);
    expect(got).toEqual([{ attemptsLeft: 0, reason: 'counter' }, { reason: 'origin' }, { attemptsLeft: 0 }]);
    rpc.close();
  });

  test('a peer that does not send hasAttemptsLeft: a PIN_INVALID or RECOVERY_CODE_WRONG without attempts still means 0', () => {
    for (const code of ['PIN_INVALID', 'RECOVERY_CODE_WRONG'] as const)
      expect(EnclaveWalletError.fromProto({ code: v1.ErrorCode[code], message: 'wrong' }).details).toEqual({ attemptsLeft: 0 });
    expect(EnclaveWalletError.fromProto({ code: v1.ErrorCode.PASSKEY_INVALID, message: 'refused', reason: 'origin' }).details).toEqual({ reason: 'origin' });
  });

  test('an unexpected handler failure answers INTERNAL_ERROR without its message', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    const seen: unknown[] = [];
    serveConnection(enclaveEnd, { health: async () => Promise.reject(new Error('secret detail 1234')) }, { onInternalError: (e) => seen.push(e) });
    const rpc = new RpcClient(hostEnd);
    const err = (await rpc.call('health', {}).catch((e: unknown) => e)) as EnclaveWalletError;
    expect(err.code).toBe('INTERNAL_ERROR');
    expect(err.message).not.toContain('secret');
    expect(seen).toHaveLength(1);
    rpc.close();
  });

  test('an operation without a handler is UNSUPPORTED_OPERATION and the connection stays usable', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    const refused: unknown[] = [];
    serveConnection(enclaveEnd, { health: async () => ({ initialized: false }) }, { onRefused: (r) => refused.push(r) });
    const rpc = new RpcClient(hostEnd);
    await expect(rpc.call('export', {}, { traceId: 'req-1' })).rejects.toMatchObject({ code: 'UNSUPPORTED_OPERATION' });
    await expect(rpc.call('health', {})).resolves.toMatchObject({ initialized: false });
    expect(refused).toEqual([{ code: 'UNSUPPORTED_OPERATION', operation: 'export', traceId: 'req-1' }]);
    rpc.close();
  });

  test('a request with no operation or a wrong protocol version gets a typed error', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    const refused: unknown[] = [];
    const done: unknown[] = [];
    serveConnection(enclaveEnd, {}, { onRefused: (r) => refused.push(r), onRequestDone: (d) => done.push(d) });
    const answers = collectAnswers(hostEnd);
    hostEnd.write(encodeFrame(v1.HostRequest.encode({ requestId: 7, protocolVersion: PROTOCOL_VERSION }).finish()));
    hostEnd.write(encodeFrame(v1.HostRequest.encode({ requestId: 8, protocolVersion: 99, health: {}, traceId: 'req-8' }).finish()));
    while (answers.length < 2) await tick(1);
    expect(answers.map((a) => [a.requestId, v1.ErrorCode[a.error!.code!]])).toEqual([
      [7, 'MALFORMED_REQUEST'],
      [8, 'PROTOCOL_VERSION_UNSUPPORTED'],
    ]);
    // Each refusal is reported by its code, with what the request named of itself; nothing else of it.
    expect(refused).toEqual([{ code: 'MALFORMED_REQUEST' }, { code: 'PROTOCOL_VERSION_UNSUPPORTED', operation: 'health', traceId: 'req-8' }]);
    expect(done).toEqual([]); // a refusal is reported once, as a refusal
    hostEnd.destroy();
  });

  test('request id 0 is refused and closes the connection; nothing behind a frame that closes it is served', async () => {
    const served: string[] = [];
    const health = async (): Promise<{ initialized: boolean }> => (served.push('health'), { initialized: false });
    for (const first of [
      v1.HostRequest.encode({ requestId: 0, protocolVersion: PROTOCOL_VERSION, health: {}, traceId: 't0' }).finish(),
      Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff),
    ]) {
      const [hostEnd, enclaveEnd] = socketPair();
      const refused: unknown[] = [];
      const done: unknown[] = [];
      const connection = serveConnection(enclaveEnd, { health }, { onRefused: (r) => refused.push(r), onRequestDone: (d) => done.push(d) });
      const answers = collectAnswers(hostEnd);
      // In one write: the refused frame, then a well-formed request.
      const ok = v1.HostRequest.encode({ requestId: 9, protocolVersion: PROTOCOL_VERSION, health: {} }).finish();
      hostEnd.write(Buffer.concat([encodeFrame(first), encodeFrame(ok)]));
      expect(await connection.closed).toBeInstanceOf(Error);
      await tick();
      expect(answers.map((a) => [a.requestId, v1.ErrorCode[a.error!.code!]])).toEqual([[0, 'MALFORMED_REQUEST']]);
      expect(refused).toEqual([first.length === 5 ? { code: 'MALFORMED_REQUEST' } : { code: 'MALFORMED_REQUEST', operation: 'health', traceId: 't0' }]);
      expect(done).toEqual([]);
    }
    expect(served).toEqual([]);
  });

  test('an undecodable request is answered MALFORMED_REQUEST with id 0, then the connection closes', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    const refused: unknown[] = [];
    const served = serveConnection(enclaveEnd, {}, { onRefused: (r) => refused.push(r) });
    const answers = collectAnswers(hostEnd);
    hostEnd.write(encodeFrame(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff)));
    const reason = await served.closed;
    expect(refused).toEqual([{ code: 'MALFORMED_REQUEST' }]);
    expect(reason).toBeInstanceOf(Error);
    await tick();
    expect(answers).toHaveLength(1);
    expect(answers[0]!.requestId).toBe(0);
    expect(v1.ErrorCode[answers[0]!.error!.code!]).toBe('MALFORMED_REQUEST');
  });

  test('after a frame that ends the connection, what follows is not read: its answer is flushed whole', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    const served = serveConnection(enclaveEnd, {}, { maxFrameBytes: 1024 });
    const answers = collectAnswers(hostEnd);
    const oversize = Buffer.alloc(4);
    oversize.writeUInt32BE(1025, 0);
    hostEnd.write(encodeFrame(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff)));
    hostEnd.write(oversize); // a frame error of its own, had it been read
    const reason = await served.closed;
    expect(reason).toMatchObject({ message: 'undecodable request' });
    await tick();
    expect(answers.map((a) => [a.requestId, v1.ErrorCode[a.error!.code!]])).toEqual([[0, 'MALFORMED_REQUEST']]);
  });

  test('an oversize frame header closes the server side without reading further', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    const served = serveConnection(enclaveEnd, {}, { maxFrameBytes: 1024 });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025, 0);
    hostEnd.write(header);
    const reason = await served.closed;
    expect(reason).toMatchObject({ code: 'FRAME_TOO_LARGE' });
    expect(enclaveEnd.destroyed).toBe(true);
  });

  test('random bytes sent to the server never crash or hang it, and it closes cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
        const [hostEnd, enclaveEnd] = socketPair();
        const served = serveConnection(enclaveEnd, { health: async () => ({}) });
        hostEnd.resume();
        hostEnd.end(bytes);
        // Either it answered (valid frames) and sees the end, or it refused the input: both close.
        await served.closed;
        expect(enclaveEnd.listenerCount('data')).toBe(0);
        hostEnd.destroy();
      }),
      { numRuns: 150 },
    );
  });

  test('garbage from the enclave fails every call with ENCLAVE_UNAVAILABLE and removes every listener', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    enclaveEnd.resume();
    const rpc = new RpcClient(hostEnd);
    const before = { data: hostEnd.listenerCount('data'), end: hostEnd.listenerCount('end') };
    expect(before).toEqual({ data: 1, end: 1 });
    const call = rpc.call('health', {});
    enclaveEnd.write(Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff]));
    await expect(call).rejects.toMatchObject({ code: 'ENCLAVE_UNAVAILABLE' });
    expect(await rpc.whenClosed()).toBeInstanceOf(Error);
    expect(hostEnd.listenerCount('data')).toBe(0);
    expect(hostEnd.listenerCount('end')).toBe(0);
    expect(hostEnd.listenerCount('close')).toBe(0);
  });

  test('a truncated answer followed by end of stream closes with FRAME_TRUNCATED', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    enclaveEnd.resume();
    const rpc = new RpcClient(hostEnd);
    const call = rpc.call('health', {});
    enclaveEnd.end(Buffer.from([0, 0, 0, 10, 1, 2]));
    await expect(call).rejects.toMatchObject({ code: 'ENCLAVE_UNAVAILABLE' });
    expect(await rpc.whenClosed()).toMatchObject({ code: 'FRAME_TRUNCATED' });
  });

  test('a request that gets no answer times out with ENCLAVE_TIMEOUT; a late answer is dropped', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    let release!: () => void;
    serveConnection(enclaveEnd, {
      health: () => new Promise((resolve) => (release = () => resolve({ initialized: true }))),
      getAttestation: async (b) => ({ document: b.nonce }),
    });
    const rpc = new RpcClient(hostEnd, { timeoutMs: 50 });
    await expect(rpc.call('health', {})).rejects.toMatchObject({ code: 'ENCLAVE_TIMEOUT' });
    expect(rpc.inFlight).toBe(0);
    release();
    await tick(10);
    // The connection is still good after the late answer arrived.
    await expect(rpc.call('getAttestation', { nonce: Uint8Array.of(5) })).resolves.toMatchObject({ document: Uint8Array.of(5) });
    expect(rpc.closed).toBe(false);
    rpc.close();
  });

  test('an answer of the wrong kind is an error for that call only', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    const decoder = new FrameDecoder();
    enclaveEnd.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        const req = v1.HostRequest.decode(f);
        enclaveEnd.write(encodeFrame(v1.EnclaveResponse.encode({ requestId: req.requestId, protocolVersion: 1, sign: {} }).finish()));
      }
    });
    const rpc = new RpcClient(hostEnd);
    await expect(rpc.call('health', {})).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(rpc.closed).toBe(false);
    rpc.close();
  });

  test('a request too big for a frame is refused locally with PAYLOAD_TOO_LARGE', async () => {
    const [hostEnd] = socketPair();
    const rpc = new RpcClient(hostEnd, { maxFrameBytes: 64 });
    await expect(rpc.call('getAttestation', { nonce: new Uint8Array(100) })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(rpc.inFlight).toBe(0);
    rpc.close();
  });

  test('the server bounds concurrency per connection and still answers everything', async () => {
    const [hostEnd, enclaveEnd] = socketPair();
    let running = 0;
    let peak = 0;
    const handlers: Handlers = {
      async getAttestation(b) {
        running += 1;
        peak = Math.max(peak, running);
        await tick(2);
        running -= 1;
        return { document: b.nonce };
      },
    };
    serveConnection(enclaveEnd, handlers, { maxInFlight: 4 });
    const rpc = new RpcClient(hostEnd);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => rpc.call('getAttestation', { nonce: Uint8Array.of(i) })));
    expect(answers.map((a) => a.document![0])).toEqual(Array.from({ length: 40 }, (_, i) => i));
    // Frames already decoded from one chunk are admitted together, so allow a chunk's worth over the cap.
    expect(peak).toBeLessThan(40);
    rpc.close();
  });

  test('startRpcServer closes its open connections when it stops', async () => {
    const server = await startRpcServer('tcp://127.0.0.1:0', { health: async () => ({ initialized: true }) });
    const rpc = await RpcClient.connect(server.address);
    await expect(rpc.call('health', {})).resolves.toMatchObject({ initialized: true });
    await server.close();
    await rpc.whenClosed();
    await expect(rpc.call('health', {})).rejects.toMatchObject({ code: 'ENCLAVE_UNAVAILABLE' });
  });
});

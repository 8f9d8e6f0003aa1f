/**
 * A stand-in for the native vsock addon (node-vsock-linux-x64-gnu), for tests
 * on machines without a vsock device. It mimics the addon's observable
 * behaviour: events arrive asynchronously through the emit callback as
 * (err, name, ...args); accepted sockets are handed over as file descriptors;
 * received data comes in chunks of at most 8192 bytes; writes are synchronous
 * and throw once the socket is closed.
 */
import type { VsockBinding, VsockEmit, VsockNativeSocket } from '../src/transport/vsock.js';

const RECV_CHUNK = 8192;

export interface StandIn {
  binding: VsockBinding;
  /** Native sockets not yet closed (to check that nothing leaks). */
  openSockets(): number;
}

export function createVsockStandIn(): StandIn {
  const listeners = new Map<number, FakeSocket>();
  const byFd = new Map<number, FakeSocket>();
  const open = new Set<FakeSocket>();
  let nextFd = 100;

  class FakeSocket implements VsockNativeSocket {
    private peer: FakeSocket | undefined;
    private receiving = false;
    private readonly inbox: Array<Buffer | null> = [];
    private closed = false;
    private shut = false;
    private listeningPort: number | undefined;

    constructor(
      private readonly emit: VsockEmit,
      fd?: number,
    ) {
      open.add(this);
      if (fd !== undefined) {
        const accepted = byFd.get(fd);
        if (!accepted) throw new Error(`bad file descriptor ${fd}`);
        byFd.delete(fd);
        // Take over the accepted endpoint's peer link.
        this.peer = accepted.peer;
        this.peer!.peer = this;
        open.delete(accepted);
      }
    }

    private later(event: string, ...args: unknown[]): void {
      setImmediate(() => this.emit(null, event, ...args));
    }

    listen(port: number): void {
      if (listeners.has(port)) throw new Error('Bind socket address failed: EADDRINUSE');
      listeners.set(port, this);
      this.listeningPort = port;
    }

    connect(_cid: number, port: number): void {
      setImmediate(() => {
        const server = listeners.get(port);
        if (!server || server.closed) {
          this.emit(null, '_error', new Error('Connect socket failed: ECONNRESET'));
          return;
        }
        const accepted = new FakeSocket(() => {});
        accepted.peer = this;
        this.peer = accepted;
        const fd = nextFd++;
        byFd.set(fd, accepted);
        server.emit(null, '_connection', fd);
        this.emit(null, '_connect');
      });
    }

    startRecv(): void {
      if (this.receiving) throw new Error("can't start recv, bad state");
      this.receiving = true;
      this.flush();
    }

    writeBuffer(data: Buffer): void {
      if (this.closed || this.shut) throw new Error("can't write, bad state");
      const copy = Buffer.from(data);
      for (let i = 0; i < copy.length; i += RECV_CHUNK) this.peer?.deliver(copy.subarray(i, i + RECV_CHUNK));
    }

    end(): void {
      if (this.shut) return;
      this.shut = true;
      this.peer?.deliver(null);
      this.later('_shutdown');
    }

    close(): void {
      if (this.closed) return;
      this.closed = true;
      open.delete(this);
      if (this.listeningPort !== undefined) listeners.delete(this.listeningPort);
      if (!this.shut) this.peer?.deliver(null);
      this.later('close');
    }

    private deliver(data: Buffer | null): void {
      this.inbox.push(data);
      if (this.receiving) setImmediate(() => this.flush());
    }

    private flush(): void {
      while (this.receiving && !this.closed && this.inbox.length > 0) {
        const data = this.inbox.shift()!;
        if (data === null) {
          this.emit(null, 'end');
          this.receiving = false;
          return;
        }
        this.emit(null, '_data', data);
      }
    }
  }

  return { binding: { VsockSocket: FakeSocket }, openSockets: () => open.size };
}

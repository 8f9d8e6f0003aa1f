/**
 * A global bound on one kind of work the host asks of the enclave (fresh
 * attestation documents: each is a synchronous NSM call on the enclave's
 * event loop, which signing shares): at most `concurrency` at once, the rest
 * waiting in order, and, when `ratePerSecond` is set, at most that many per
 * second on average with bursts of two seconds' worth; past it RATE_LIMITED.
 * Per host, whoever asks: the per-address limits cannot stop many addresses.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';

export class WorkGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private tokens: number;
  private refilled: number;
  private readonly burst: number;

  constructor(
    private readonly concurrency: number,
    private readonly ratePerSecond: number | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.burst = (ratePerSecond ?? 0) * 2;
    this.tokens = this.burst;
    this.refilled = now();
  }

  /** @throws {EnclaveWalletError} RATE_LIMITED (retryAfter) when the rate is spent; otherwise what `work` throws */
  async run<T>(work: () => Promise<T>): Promise<T> {
    this.take();
    if (this.running < this.concurrency) this.running += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the slot is handed over
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  private take(): void {
    if (this.ratePerSecond === undefined) return;
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilled) / 1000) * this.ratePerSecond);
    this.refilled = now;
    if (this.tokens < 1)
      throw new EnclaveWalletError('RATE_LIMITED', 'too many attestation requests on this host; retry shortly', {
        retryAfter: Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerSecond)),
      });
    this.tokens -= 1;
  }
}

// scripts/sched-path.mjs's reading of a `perf sched` trace: the runs of each CPU, the segments of a call on the
// enclave's CPU, and each process's CPU per call (the recording itself needs perf and root: not run here).
import { cpuByRole, runsOf, segmentsOf } from '../../scripts/sched-path.mjs';

/** A `perf script -F time,cpu,event,trace` line: on `cpu` at `ms`, `prev` switches out and `next` in. */
const sw = (cpu: number, ms: number, prev: [string, number], next: [string, number]): string =>
  `[00${cpu}] ${(1000 + ms / 1000).toFixed(6)}:       sched:sched_switch: prev_comm=${prev[0]} prev_pid=${prev[1]} prev_prio=120 prev_state=S ==> next_comm=${next[0]} next_pid=${next[1]} next_prio=120`;
const at = (ms: number): number => Math.round((1000 + ms / 1000) * 1e9);

const IDLE: [string, number] = ['swapper/1', 0];
const MAIN: [string, number] = ['MainThread', 500];
const POOL: [string, number] = ['libuv-worker', 501];
const HOST: [string, number] = ['MainThread', 300];
const CLIENT: [string, number] = ['node', 200];
const IDLE0: [string, number] = ['swapper/0', 0];

// One call from 0 to 30 ms: the client and the host on CPU 0 until 1.5 ms; on CPU 1 the enclave's main thread from
// 1.5 to 2.5, the pool thread from 2.5 to 12 (a 0.1-ms wake-up of it before), the main thread 12–12.3 inside the
// stretch, the pool 12.3–27, the main thread 27–28.2; then the host and the client on CPU 0 to 30.
const trace = [
  sw(0, 0, IDLE0, CLIENT),
  sw(0, 0.8, CLIENT, HOST),
  sw(0, 1.5, HOST, IDLE0),
  sw(1, 0, IDLE, IDLE), // CPU 1's first switch opens its first run
  sw(1, 1.5, IDLE, MAIN),
  sw(1, 2.0, MAIN, POOL),
  sw(1, 2.1, POOL, MAIN), // a short run of the pool thread: not the stretch's start
  sw(1, 2.5, MAIN, POOL),
  sw(1, 12, POOL, MAIN),
  sw(1, 12.3, MAIN, POOL),
  sw(1, 27, POOL, MAIN),
  sw(1, 28.2, MAIN, IDLE),
  sw(0, 28.2, IDLE0, HOST),
  sw(0, 28.9, HOST, CLIENT),
  sw(0, 30, CLIENT, IDLE0),
  sw(1, 31, IDLE, IDLE),
  'some other line',
].join('\n');
const marks: Array<[number, number]> = [[at(0), at(30)]];

describe('scripts/sched-path.mjs', () => {
  test('reads each CPU’s runs from the switches, in order', () => {
    const byCpu = runsOf(trace);
    expect([...byCpu.keys()].sort()).toEqual([0, 1]);
    const cpu1 = byCpu.get(1)!;
    expect(cpu1.map((r) => r.tid)).toEqual([0, 500, 501, 500, 501, 500, 501, 500, 0]);
    expect(cpu1[1]).toEqual({ tid: 500, comm: 'MainThread', from: at(1.5), to: at(2.0) });
  });

  test('splits a call into its segments on the enclave’s CPU', () => {
    const { calls, medians } = segmentsOf(runsOf(trace).get(1)!, marks);
    expect(calls).toBe(1);
    const close = (x: number, y: number): void => expect(Math.abs(x - y)).toBeLessThan(1e-6);
    close(medians.before, 1.5);
    close(medians.enclaveBefore, 1.0); // 1.5 → 2.5: the main thread, and the pool's short run that is not the stretch
    close(medians.stretch, 24.5); // 2.5 → 27
    close(medians.stretchCpu, 24.2); // less the main thread's 0.3 inside
    close(medians.mainInStretch, 0.3);
    close(medians.enclaveAfter, 1.2);
    close(medians.after, 1.8);
    close(medians.call, 30);
  });

  test('leaves out a call in which the enclave ran no stretch', () => {
    expect(segmentsOf(runsOf(trace).get(1)!, [[at(28.5), at(29)]]).calls).toBe(0);
  });

  test('sums each process’s CPU in the call, idle included', () => {
    const roles = new Map([
      [500, 'enclave'],
      [501, 'enclave'],
      [300, 'host'],
      [200, 'client'],
    ]);
    const byRole = cpuByRole(runsOf(trace), marks, (tid: number) => roles.get(tid));
    const close = (x: number | undefined, y: number): void => expect(Math.abs((x ?? NaN) - y)).toBeLessThan(1e-6);
    close(byRole.client, 0.8 + 1.1);
    close(byRole.host, 0.7 + 0.7);
    close(byRole.enclave, 28.2 - 1.5);
    close(byRole.idle, 28.2 - 1.5 + (30 - 28.2) + 1.5);
  });
});

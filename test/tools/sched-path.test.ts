// scripts/sched-path.mjs's reading of a `perf sched` trace: the runs of each CPU, the segments of a call on the
// enclave's CPUs, and each process's CPU per call (the recording itself needs perf and root: not run here).
import { cpuByRole, cpuList, runsOf, segmentsOf, type Run } from '../../scripts/sched-path.mjs';

type Task = [string, number];
/** A `perf script -F time,cpu,event,trace` line: on `cpu` at `ms`, `prev` switches out and `next` in. */
const sw = (cpu: number, ms: number, prev: Task, next: Task): string =>
  `[00${cpu}] ${(1000 + ms / 1000).toFixed(6)}:       sched:sched_switch: prev_comm=${prev[0]} prev_pid=${prev[1]} prev_prio=120 prev_state=S ==> next_comm=${next[0]} next_pid=${next[1]} next_prio=120`;
const at = (ms: number): number => Math.round((1000 + ms / 1000) * 1e9);
const close = (x: number | undefined, y: number): void => expect(Math.abs((x ?? NaN) - y)).toBeLessThan(1e-6);

const IDLE0: Task = ['swapper/0', 0];
const IDLE1: Task = ['swapper/1', 0];
const IDLE2: Task = ['swapper/2', 0];
const MAIN: Task = ['MainThread', 500]; // the enclave's pid
const POOL: Task = ['libuv-worker', 501];
const V8: Task = ['V8Worker', 502];
const HOST: Task = ['MainThread', 300];
const CLIENT: Task = ['node', 200];

/**
 * Call 1, 0–30 ms: the client and the host on CPU 0 until 1.5; on CPU 1 the main thread 1.5–2.0, a 0.1-ms run of the
 * pool thread (not the stretch), the main thread to 2.5, the pool 2.5–12, the main thread 12–12.3, the pool 12.3–27,
 * the main thread 27–28.2, and V8's worker 0.05 ms at 0.2 and at 29.5 (neither moves where the enclave's work begins
 * or ends); the host and the client on CPU 0 from 28.2 to 30.
 */
const call1 = [
  sw(0, 0, IDLE0, CLIENT),
  sw(0, 0.8, CLIENT, HOST),
  sw(0, 1.5, HOST, IDLE0),
  sw(1, 0, IDLE1, IDLE1),
  sw(1, 0.2, IDLE1, V8),
  sw(1, 0.25, V8, IDLE1),
  sw(1, 1.5, IDLE1, MAIN),
  sw(1, 2.0, MAIN, POOL),
  sw(1, 2.1, POOL, MAIN),
  sw(1, 2.5, MAIN, POOL),
  sw(1, 12, POOL, MAIN),
  sw(1, 12.3, MAIN, POOL),
  sw(1, 27, POOL, MAIN),
  sw(1, 28.2, MAIN, IDLE1),
  sw(0, 28.2, IDLE0, HOST),
  sw(0, 28.9, HOST, CLIENT),
  sw(1, 29.5, IDLE1, V8),
  sw(1, 29.55, V8, IDLE1),
  sw(0, 30, CLIENT, IDLE0),
];
/**
 * Call 2, 40–60 ms, on CPU 2 (an enclave of two CPUs): the main thread 41–43, the pool 43–58 (its run begun in the
 * call), the main thread 58–59.
 */
const call2 = [sw(2, 35, IDLE2, IDLE2), sw(2, 41, IDLE2, MAIN), sw(2, 43, MAIN, POOL), sw(2, 58, POOL, MAIN), sw(2, 59, MAIN, IDLE2)];
/**
 * Call 3, 70–100 ms: the pool thread's run began before the call (65) and lasts to 96: clipped to the call, the
 * stretch is 70–96 and the main thread's only run (96–97.5) comes after it.
 */
const call3 = [sw(1, 65, IDLE1, POOL), sw(1, 96, POOL, MAIN), sw(1, 97.5, MAIN, IDLE1), sw(1, 101, IDLE1, IDLE1), sw(2, 101, IDLE2, IDLE2)];
const trace = [...call1, ...call2, ...call3, 'some other line'].join('\n');
const marks: Array<[number, number]> = [
  [at(0), at(30)],
  [at(40), at(60)],
  [at(70), at(100)],
];
const enclaveRuns = (byCpu: Map<number, Run[]>): Run[] =>
  [1, 2].flatMap((cpu) => (byCpu.get(cpu) ?? []).filter((r) => r.tid === 500 || r.tid === 501 || r.tid === 502));

describe('scripts/sched-path.mjs', () => {
  test('reads each CPU’s runs from the switches, in order', () => {
    const { byCpu, lost } = runsOf(trace);
    expect(lost).toBe(0);
    expect([...byCpu.keys()].sort()).toEqual([0, 1, 2]);
    expect(
      byCpu
        .get(1)!
        .slice(0, 10)
        .map((r) => r.tid),
    ).toEqual([0, 502, 0, 500, 501, 500, 501, 500, 501, 500]);
    expect(byCpu.get(1)![3]).toEqual({ tid: 500, comm: 'MainThread', from: at(1.5), to: at(2.0) });
  });

  test('leaves out the run before a switch that does not follow on from the last (one missing from the record)', () => {
    // The switch from the main thread into a kernel thread (77) is missing: 77's switch out follows the main thread's in.
    const { byCpu, lost } = runsOf([sw(1, 0, IDLE1, MAIN), sw(1, 2, ['kworker/1:1', 77], POOL), sw(1, 20, POOL, IDLE1)].join('\n'));
    expect(lost).toBe(1);
    expect(byCpu.get(1)).toEqual([{ tid: 501, comm: 'libuv-worker', from: at(2), to: at(20) }]);
  });

  test('splits each call into its segments, from the main thread and the pool thread, clipped to the call', () => {
    const { calls, medians } = segmentsOf(enclaveRuns(runsOf(trace).byCpu), marks, 500);
    expect(calls).toBe(3);
    // Per call: before 1.5, 1, 0; enclaveBefore 1, 2, 0; stretch 24.5, 15, 26; stretchCpu 24.2, 15, 26; othersInStretch
    // 0.3, 0, 0; enclaveAfter 1.2, 1, 1.5; after 1.8, 1, 2.5; call 30, 20, 30. Medians:
    close(medians.before, 1);
    close(medians.enclaveBefore, 1);
    close(medians.stretch, 24.5);
    close(medians.stretchCpu, 24.2);
    close(medians.othersInStretch, 0);
    close(medians.enclaveAfter, 1.2);
    close(medians.after, 1.8);
    close(medians.call, 30);
    close(medians.besideStretch, 5); // per call 5.5, 5, 4
  });

  test('each call’s segments add up to the call', () => {
    for (const mark of marks) {
      const { medians: m } = segmentsOf(enclaveRuns(runsOf(trace).byCpu), [mark], 500);
      close(m.before + m.enclaveBefore + m.stretch + m.enclaveAfter + m.after, m.call);
    }
    const one = segmentsOf(enclaveRuns(runsOf(trace).byCpu), [marks[0]!], 500).medians;
    close(one.enclaveBefore, 1.0); // 1.5 → 2.5: the pool's 0.1-ms run at 2.0 is not the stretch's start
    close(one.othersInStretch, 0.3);
    const third = segmentsOf(enclaveRuns(runsOf(trace).byCpu), [marks[2]!], 500).medians;
    close(third.before, 0); // the pool thread's run began at 65: clipped to the call's start
    close(third.stretch, 26);
    close(third.stretchCpu, 26);
  });

  test('leaves out a call in which the enclave ran no stretch', () => {
    expect(segmentsOf(enclaveRuns(runsOf(trace).byCpu), [[at(28.5), at(29)]], 500).calls).toBe(0);
  });

  test('sums each process’s CPU in a call, idle included', () => {
    const roles = new Map([
      [500, 'enclave'],
      [501, 'enclave'],
      [502, 'enclave'],
      [300, 'host'],
      [200, 'client'],
    ]);
    const byRole = cpuByRole(runsOf(trace).byCpu, [marks[0]!], (tid) => roles.get(tid));
    close(byRole.client, 0.8 + 1.1);
    close(byRole.host, 0.7 + 0.7);
    close(byRole.enclave, 28.2 - 1.5 + 0.05 + 0.05);
    // CPU 0 idle 1.5–28.2; CPU 1 idle 0–0.2, 0.25–1.5, 28.2–29.5, 29.55–30; CPU 2 has no run open before 35.
    close(byRole.idle, 26.7 + 0.2 + 1.25 + 1.3 + 0.45);
  });

  test('reads CPU lists as taskset writes them', () => {
    expect(cpuList('1')).toEqual([1]);
    expect(cpuList('1-2')).toEqual([1, 2]);
    expect(cpuList('0,2-3\n')).toEqual([0, 2, 3]);
  });
});

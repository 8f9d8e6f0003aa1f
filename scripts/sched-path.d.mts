/** Types of sched-path.mjs, for the test that imports it. */
/** One run of a thread on a CPU, in nanoseconds (CLOCK_MONOTONIC); tid 0 is the idle task. */
export interface Run {
  tid: number;
  comm: string;
  from: number;
  to: number;
}
/** A call's segments in ms (sched-path.mjs, segmentsOf). */
export interface Segments {
  before: number;
  enclaveBefore: number;
  stretch: number;
  stretchCpu: number;
  othersInStretch: number;
  enclaveAfter: number;
  after: number;
  call: number;
  besideStretch: number;
}
export declare function runsOf(text: string): { byCpu: Map<number, Run[]>; lost: number };
export declare function segmentsOf(
  enclaveRuns: readonly Run[],
  marks: ReadonlyArray<readonly [number, number]>,
  mainTid: number,
): { calls: number; medians: Segments };
export declare function cpuByRole(
  byCpu: Map<number, Run[]>,
  marks: ReadonlyArray<readonly [number, number]>,
  roleOf: (tid: number) => string | undefined,
): Record<string, number>;
export declare function cpuList(text: string): number[];

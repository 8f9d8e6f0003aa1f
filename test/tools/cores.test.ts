/**
 * The launcher's split of cores (scripts/cores.mjs): ENCLAVE_CPUS may name cores outside the launcher's own affinity
 * (`ENCLAVE_CPUS=1 taskset -c 0 npm start`), as long as the machine lets a process run there; the other processes
 * keep the launcher's cores less the enclave's, and at least one.
 */
import { cpuList, MAX_CORE, splitCores } from '../../scripts/cores.mjs';

const anyCore = (): boolean => true;

test('a list of cores: single cores, ranges, both; sorted, each once; as taskset reads it (no spaces), and bounded', () => {
  expect(cpuList('1')).toEqual([1]);
  expect(cpuList('0-0')).toEqual([0]);
  expect(cpuList('0-3')).toEqual([0, 1, 2, 3]);
  expect(cpuList('5,0,2-3')).toEqual([0, 2, 3, 5]);
  expect(cpuList('1,1-2')).toEqual([1, 2]);
  expect(cpuList(`${MAX_CORE}`)).toEqual([MAX_CORE]);
  // taskset refuses spaces; a range past Linux's limit would be a giant array before any check.
  for (const bad of ['', ' ', 'a', '1-', '3-1', '1;2', '-1', '1,,2', ' 1', '1 ', '1, 2', '0x1', `${MAX_CORE + 1}`, '0-99999999'])
    expect(() => cpuList(bad)).toThrow(RangeError);
});

test('inside the launcher’s cores: the enclave takes them, the others keep the rest', () => {
  expect(splitCores('1', [0, 1], anyCore)).toEqual({ enclave: [1], others: [0] });
  expect(splitCores('2-3', [0, 1, 2, 3], anyCore)).toEqual({ enclave: [2, 3], others: [0, 1] });
});

test('wrapped in taskset: the enclave on a core the launcher was not given, everything else where it was put', () => {
  expect(splitCores('1', [0], anyCore)).toEqual({ enclave: [1], others: [0] });
  // Part inside, part outside: the others lose the part inside.
  expect(splitCores('1-2', [0, 1], anyCore)).toEqual({ enclave: [1, 2], others: [0] });
});

test('refused: no core left to the others, a core the machine does not allow, or not a list', () => {
  expect(splitCores('0', [0], anyCore).error).toMatch(/leave at least one of the launcher's cores \(0\)/);
  expect(splitCores('0-1', [0, 1], anyCore).error).toMatch(/leave at least one/);
  const asked: number[][] = [];
  const onlyTwo = (cores: number[]): boolean => (asked.push(cores), cores.every((c) => c < 2));
  expect(splitCores('7', [0], onlyTwo).error).toMatch(/does not let a process run on every one of core\(s\) 7/);
  expect(asked).toEqual([[7]]);
  expect(splitCores('one', [0, 1], anyCore).error).toMatch(/name cores by number/);
});

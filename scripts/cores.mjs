/**
 * The launcher's split of cores (ENCLAVE_CPUS, scripts/start.mjs): which cores the enclave gets, and which the launcher
 * and every other process keep.
 *
 * The enclave's cores need not be among the launcher's own: `ENCLAVE_CPUS=1 taskset -c 0 npm start` (the split made
 * by `taskset` around `npm start`) keeps the launcher, npm and everything else on core 0 and still starts the enclave
 * on core 1, since an affinity is no bound on a child's (only the machine's online cores and the cgroup's cpuset
 * are: `usable` asks the kernel, which quietly drops the cores it does not allow, so the launcher reads back the
 * affinity a process pinned there gets). The other processes keep the launcher's cores less the enclave's.
 */

/** Core numbers above this are refused (Linux's own limit on x86-64 is 8,192 possible CPUs: NR_CPUS). */
export const MAX_CORE = 8191;

/** `0-2,5` → [0, 1, 2, 5]: sorted, each once. Throws on anything else (spaces, empty parts, numbers above MAX_CORE). */
export function cpuList(text) {
  const list = String(text)
    .split(',')
    .flatMap((part) => {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (!m) throw new RangeError(`not a list of cores: ${text}`);
      const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
      if (b < a || b > MAX_CORE) throw new RangeError(`not a list of cores: ${text}`);
      return Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
  return [...new Set(list)].sort((x, y) => x - y);
}

/** The cores a process may run on, from its `/proc/<pid>/status` (its `Cpus_allowed_list`). */
export function allowedCores(status) {
  const listed = /^Cpus_allowed_list:\s*(\S+)/m.exec(status);
  if (!listed) throw new Error('no Cpus_allowed_list in the process status');
  return cpuList(listed[1]);
}

/**
 * { enclave, others } for ENCLAVE_CPUS `wanted`, the launcher's own cores `own` (its affinity) and `usable(cores)`
 * (whether the kernel lets a process run there); { error } in words otherwise.
 */
export function splitCores(wanted, own, usable) {
  let enclave;
  try {
    enclave = cpuList(wanted);
  } catch {
    return { error: `ENCLAVE_CPUS=${wanted}: name cores by number, as 1, 2-3 or 0,2 (no spaces)` };
  }
  const others = own.filter((c) => !enclave.includes(c));
  if (!others.length) return { error: `ENCLAVE_CPUS=${wanted}: leave at least one of the launcher's cores (${own.join(',')}) to the other processes` };
  if (!usable(enclave)) return { error: `ENCLAVE_CPUS=${wanted}: this machine does not let a process run on every one of core(s) ${enclave.join(',')}` };
  return { enclave, others };
}

/**
 * The launcher's split of cores (ENCLAVE_CPUS, scripts/start.mjs): which cores the enclave gets, and which the launcher
 * and every other process keep.
 *
 * The enclave's cores need not be among the launcher's own: `ENCLAVE_CPUS=1 taskset -c 0 npm start` (the split made
 * by `taskset` around `npm start`) keeps the launcher, npm and everything else on core 0 and still starts the enclave
 * on core 1, since an affinity is no bound on a child's (only the machine's online cores and the cgroup's cpuset
 * are, which `usable` asks of the kernel). The other processes keep the launcher's cores less the enclave's.
 */

/** `0-2,5` → [0, 1, 2, 5]. Throws on anything else. */
export function cpuList(text) {
  const list = String(text)
    .trim()
    .split(',')
    .flatMap((part) => {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
      if (!m) throw new RangeError(`not a list of cores: ${text}`);
      const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
      if (b < a) throw new RangeError(`not a list of cores: ${text}`);
      return Array.from({ length: b - a + 1 }, (_, i) => a + i);
    });
  return [...new Set(list)];
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
    return { error: `ENCLAVE_CPUS=${wanted}: name cores by number, as 1 or 2-3` };
  }
  const others = own.filter((c) => !enclave.includes(c));
  if (!others.length) return { error: `ENCLAVE_CPUS=${wanted}: leave at least one of the launcher's cores (${own.join(',')}) to the other processes` };
  if (!usable(enclave)) return { error: `ENCLAVE_CPUS=${wanted}: this machine does not let a process run on core(s) ${enclave.join(',')}` };
  return { enclave, others };
}

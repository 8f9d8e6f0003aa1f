#!/usr/bin/env node
// The launcher's watchdog (scripts/start.mjs starts it; not for use alone). Each child of the launcher runs in
// its own process group, so nothing stops it when the launcher dies without cleaning up (SIGKILL, a crash, the
// OOM killer). This process reads, on a pipe from the launcher, lines `add NAME PID` and `del PID`; the pipe's
// end (EOF) means the launcher has gone, however it went: the kernel closes its end. The reaper then stops the
// process groups still listed, in the launcher's order (host, enclave, then the rest), SIGTERM first and SIGKILL
// after GRACE ms, and exits. It is in its own process group too, so Ctrl-C in the terminal reaches only the
// launcher, which stops everything itself and then closes the pipe with nothing listed.
import { createInterface } from 'node:readline';

const grace = Number(process.argv[2] ?? '12000');
/** @type {Map<number, string>} pid → name */
const listed = new Map();

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};
const signal = (pid, sig) => {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  }
};

async function stopGroup(pid, ms) {
  signal(pid, 'SIGTERM');
  const until = Date.now() + ms;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) signal(pid, 'SIGKILL');
}

// Ignore the signals a terminal sends to its foreground group, in case this process is ever in it.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const [verb, a, b] = line.trim().split(' ');
    if (verb === 'add' && Number(b) > 0) listed.set(Number(b), a);
    if (verb === 'del') listed.delete(Number(a));
  })
  .on('close', async () => {
    if (listed.size === 0) process.exit(0);
    const line = (event, fields) =>
      console.error(JSON.stringify({ time: new Date().toISOString(), level: 'warn', component: 'launcher-watchdog', event, ...fields }));
    line('launcher_gone', { stopping: [...listed.values()] });
    const byName = (n) => [...listed].filter(([, name]) => name === n).map(([pid]) => pid);
    for (const pid of byName('host')) await stopGroup(pid, grace);
    for (const pid of byName('enclave')) await stopGroup(pid, grace);
    const rest = [...listed].filter(([, name]) => name !== 'host' && name !== 'enclave').map(([pid]) => pid);
    await Promise.all(rest.map((pid) => stopGroup(pid, 5000)));
    line('stopped', {});
    process.exit(0);
  });

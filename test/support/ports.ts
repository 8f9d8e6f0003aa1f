/** A TCP port nothing listens on right now, for a process the test starts: see scripts/ports.mjs for how it is chosen. */
export { freePort } from '../../scripts/ports.mjs';

/**
 * This process's peak resident memory in MiB. Linux's getrusage maxrss is not reset by exec: a
 * child forked from a bench that holds a generated data set starts with the parent's peak, which
 * floors every child's figure (two fits of different sizes both read "480 MB"). The kernel's
 * VmHWM belongs to the address space, which exec replaces, so it is the child's own; elsewhere
 * maxrss is all there is.
 */
import { readFileSync } from 'node:fs';

export function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

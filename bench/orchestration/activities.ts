import { appendFileSync } from 'node:fs';
import { activityInfo } from '@temporalio/activity';
import type { NoopResult } from './shared';

/** The no-op step both benchmark workflows run: returns at once, so only orchestration is timed. */
export async function noop(_i: number): Promise<NoopResult> {
  return { cached: false, attempt: activityInfo().attempt };
}

/** A fan-out task: `ms` of synthetic work (a sleep), as bench/tuning-fanout.ts's trials. */
export async function work(ms: number): Promise<number> {
  await new Promise((r) => setTimeout(r, ms));
  return ms;
}

/**
 * A step of the kill -9 comparison (bench/peers): `ms` of work, then its index appended to
 * `marks`, so the bench can tell which steps ran, and how often, across a worker's death.
 */
export async function markedStep(i: number, ms: number, marks: string): Promise<NoopResult> {
  await new Promise((r) => setTimeout(r, ms));
  appendFileSync(marks, `${i}\n`);
  return { cached: false, attempt: activityInfo().attempt };
}

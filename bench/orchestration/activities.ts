import { activityInfo } from '@temporalio/activity';
import type { NoopResult } from './shared';

/** The no-op step both benchmark workflows run: returns at once, so only orchestration is timed. */
export async function noop(_i: number): Promise<NoopResult> {
  return { cached: false, attempt: activityInfo().attempt };
}

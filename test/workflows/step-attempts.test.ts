import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { attemptsOf } from '../../workflows/step-runner';

const activityFailure = (cause: Error) => new ActivityFailure('failed', 'trainModel', '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker', cause);

describe('attempts of a failed step (status showed "attempts": 0 after 5 attempts)', () => {
  it('reads the last attempt from the heartbeat details of a timed-out attempt', () => {
    const timeout = new TimeoutFailure('heartbeat', { phase: 'load', attempt: 5 }, TimeoutType.HEARTBEAT);
    expect(attemptsOf(activityFailure(timeout))).toBe(5);
  });
  it('reads it from the details of an attempt that threw', () => {
    expect(attemptsOf(activityFailure(ApplicationFailure.create({ message: 'x', details: [{ attempt: 3 }] })))).toBe(3);
  });
  it('is undefined when nothing says', () => {
    expect(attemptsOf(activityFailure(ApplicationFailure.create({ message: 'x' })))).toBeUndefined();
    expect(attemptsOf(new Error('x'))).toBeUndefined();
  });
});

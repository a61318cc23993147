import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { asActivityFailure } from '../../activities/failures';
import { MlcycleError, NON_RETRYABLE_CODES, NON_RETRYABLE_ERROR_TYPES, type ErrorCode } from '../../src/errors';

describe('one non-retryable list, applied at the activity boundary', () => {
  it('turns every MlcycleError into a failure typed by its code, non-retryable exactly for the listed codes', () => {
    const codes: ErrorCode[] = ['USAGE', 'CONFIG_INVALID', 'SPEC_INVALID', 'NOT_FOUND', 'DATA_INVALID', 'ARTIFACT_INTEGRITY', 'DECISION_REFUSED', 'SERVICE_UNREACHABLE', 'TRAINING_FAILED', 'CLUSTER_NOT_READY'];
    for (const code of codes) {
      const failure = asActivityFailure(new MlcycleError(code, `boom ${code}`)) as ApplicationFailure;
      expect(failure).toBeInstanceOf(ApplicationFailure);
      expect(failure.type).toBe(code);
      expect(failure.message).toBe(`boom ${code}`);
      expect(failure.nonRetryable, code).toBe((NON_RETRYABLE_CODES as readonly string[]).includes(code));
    }
    // USAGE was retried 15 times before: it is on the list now.
    expect(NON_RETRYABLE_ERROR_TYPES).toContain('USAGE');
    expect(NON_RETRYABLE_ERROR_TYPES).not.toContain('SERVICE_UNREACHABLE');
  });

  it('passes anything else through unchanged', () => {
    const plain = new Error('x');
    expect(asActivityFailure(plain)).toBe(plain);
    const app = ApplicationFailure.retryable('y', 'WEBHOOK_FAILED');
    expect(asActivityFailure(app)).toBe(app);
  });

  it('no workflow hand-writes its own list', () => {
    const dir = path.join(__dirname, '..', '..', 'workflows');
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      expect(text, file).not.toMatch(/nonRetryableErrorTypes:\s*\[/);
      expect(text, file).not.toMatch(/nonRetryableErrorTypes\s*=\s*\[/);
    }
  });
});

import { expect, inject } from 'vitest';
import type { S3Settings } from '../../src/config/env';
import { MlcycleError } from '../../src/errors';
import '../stack-context';

/** The suite's MinIO (test/global-setup.ts) as S3 settings, under `prefix`. */
export function stackS3Settings(prefix = ''): S3Settings {
  const stack = inject('stack');
  return {
    endpoint: stack.s3.endpoint,
    region: stack.s3.region,
    bucket: stack.s3.bucket,
    prefix,
    credentials: { accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey },
  };
}

/** Awaits a promise that must reject with an MlcycleError of `code` whose message names each of `mentions`. */
export async function expectMlcycleError(promise: Promise<unknown>, code: MlcycleError['code'], ...mentions: string[]): Promise<MlcycleError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MlcycleError);
  expect((err as MlcycleError).code).toBe(code);
  for (const m of mentions) expect((err as MlcycleError).message).toContain(m);
  return err as MlcycleError;
}

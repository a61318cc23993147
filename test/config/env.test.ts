import { describe, expect, it } from 'vitest';
import { EMBEDDED_S3_CREDENTIALS, cacheDir, parseEnv, s3Settings, temporalAddress, webUiUrl } from '../../src/config/env';
import { MlcycleError } from '../../src/errors';

describe('environment configuration', () => {
  it('defaults to the embedded local stack', () => {
    const env = parseEnv({});
    expect(temporalAddress(env)).toBe('127.0.0.1:7233');
    expect(webUiUrl(env)).toBe('http://127.0.0.1:8233');
    expect(env.TEMPORAL_NAMESPACE).toBe('default');
    expect(s3Settings(env, 'http://127.0.0.1:9000')).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      bucket: 'mlcycle',
      prefix: '',
      credentials: { ...EMBEDDED_S3_CREDENTIALS },
    });
  });

  it('uses external services and their credentials when configured', () => {
    const env = parseEnv({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      MLCYCLE_S3_ENDPOINT: 'https://s3.example.com',
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      MLCYCLE_S3_BUCKET: 'ml-artifacts',
    });
    expect(temporalAddress(env)).toBe('temporal.internal:7233');
    expect(webUiUrl(env)).toBeUndefined();
    expect(s3Settings(env)).toMatchObject({ endpoint: 'https://s3.example.com', bucket: 'ml-artifacts', credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } });
  });

  it('leaves credentials to the AWS default chain for an external endpoint without keys', () => {
    expect(s3Settings(parseEnv({ MLCYCLE_S3_ENDPOINT: 'https://s3.example.com' })).credentials).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    expect(temporalAddress(parseEnv({ TEMPORAL_ADDRESS: '' }))).toBe('127.0.0.1:7233');
  });

  it.each([
    ['TEMPORAL_ADDRESS', 'localhost', 'expected host:port'],
    ['MLCYCLE_S3_ENDPOINT', 'minio:9000', 'expected an http(s) URL'],
    ['MLCYCLE_S3_BUCKET', 'Bad_Bucket', 'expected an S3 bucket name'],
    ['MLCYCLE_S3_PREFIX', 'no-slash', 'ending with "/"'],
  ])('names %s and the expected form when it is malformed', (name, value, expected) => {
    let error: unknown;
    try {
      parseEnv({ [name]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MlcycleError);
    expect((error as MlcycleError).code).toBe('CONFIG_INVALID');
    expect((error as MlcycleError).exitCode).toBe(2);
    expect((error as Error).message).toContain(`${name}: `);
    expect((error as Error).message).toContain(expected);
  });

  it('keeps the binary cache per user, under XDG_CACHE_HOME when set', () => {
    expect(cacheDir(parseEnv({ XDG_CACHE_HOME: '/x/cache' }))).toBe('/x/cache/mlcycle');
    expect(cacheDir(parseEnv({ MLCYCLE_CACHE_DIR: '/y' }))).toBe('/y');
  });
});

import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { redactErrorInPlace, redactSecrets, redactValue, registerSecret, secretValues } from '../../src/config/secrets';
import { createRuntimeLogger, fatalLine, lineLogger } from '../../src/observability/logging';

const env = { AWS_ACCESS_KEY_ID: 'mlcycle', MLCYCLE_CODEC_KEY_FILE: '/etc/mlcycle/keys.json', AWS_SECRET_ACCESS_KEY: 'aws-s3cr3t-value', MLCYCLE_WEBHOOK_URL: 'https://hooks.example/T0/abc', MLCYCLE_S3_BUCKET: 'mlcycle-bucket', DEBUG: 'true', XDG_SESSION_DESKTOP: 'ubuntu', MLCYCLE_TEST_TOKEN: 'short' };

describe('the list of secrets', () => {
  it('holds secret-named variables and registered values, longest first, and nothing short or ordinary', () => {
    registerSecret('codec key k9', 'a2V5LW1hdGVyaWFsLWZvci10ZXN0');
    const list = secretValues(env);
    expect(list).toContainEqual(['AWS_SECRET_ACCESS_KEY', 'aws-s3cr3t-value']);
    expect(list).toContainEqual(['MLCYCLE_WEBHOOK_URL', 'https://hooks.example/T0/abc']);
    expect(list).toContainEqual(['codec key k9', 'a2V5LW1hdGVyaWFsLWZvci10ZXN0']);
    expect(list.map(([n]) => n)).not.toContain('MLCYCLE_S3_BUCKET');
    // An identifier or a location is not a secret, though its name says KEY or TOKEN.
    expect(list.map(([n]) => n)).not.toContain('AWS_ACCESS_KEY_ID');
    expect(list.map(([n]) => n)).not.toContain('MLCYCLE_CODEC_KEY_FILE');
    // Nor a desktop session's name, nor a value too short to be a secret.
    expect(list.map(([n]) => n)).not.toContain('XDG_SESSION_DESKTOP');
    expect(list.map(([n]) => n)).not.toContain('MLCYCLE_TEST_TOKEN');
    expect(list.map(([n]) => n)).not.toContain('DEBUG');
    const lengths = list.map(([, v]) => v.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => b - a));
  });

  it('redacts every occurrence, also as a JSON string spells it', () => {
    const quoted = { MLCYCLE_TEST_TOKEN: 'tok"en\\with-quotes' };
    expect(redactSecrets('a aws-s3cr3t-value b aws-s3cr3t-value', env)).toBe('a [redacted AWS_SECRET_ACCESS_KEY] b [redacted AWS_SECRET_ACCESS_KEY]');
    expect(redactSecrets(JSON.stringify({ x: 'tok"en\\with-quotes' }), quoted)).toBe('{"x":"[redacted MLCYCLE_TEST_TOKEN]"}');
  });
});

describe('redacting values', () => {
  const secrets = secretValues(env);

  it('copies only what held a secret and leaves the rest the same object', () => {
    // docker-compose.yml's AWS_ACCESS_KEY_ID=mlcycle with bucket mlcycle: URIs stay intact.
    const clean = { a: [1, 'x'], b: { c: 'y' }, uri: 's3://mlcycle/artifacts/sha256/ab/x' };
    expect(redactValue(clean, secrets)).toBe(clean);
    const dirty = { a: [1, 'x'], b: { c: 'key aws-s3cr3t-value' }, bytes: new Uint8Array([1]) };
    const out = redactValue(dirty, secrets);
    expect(out).toEqual({ a: [1, 'x'], b: { c: 'key [redacted AWS_SECRET_ACCESS_KEY]' }, bytes: new Uint8Array([1]) });
    expect(out.a).toBe(dirty.a);
    expect(dirty.b.c).toContain('aws-s3cr3t-value');
  });

  it('survives cycles and shared objects', () => {
    const shared: Record<string, unknown> = { s: 'aws-s3cr3t-value' };
    const cyclic: Record<string, unknown> = { a: shared, b: shared };
    cyclic.self = cyclic;
    cyclic.again = cyclic;
    const out = redactValue(cyclic, secrets);
    expect((out.a as Record<string, unknown>).s).toBe('[redacted AWS_SECRET_ACCESS_KEY]');
  });

  it('copies an error with its class, message, stack and cause for a log', () => {
    const err = ApplicationFailure.create({ message: 'denied with aws-s3cr3t-value', type: 'X', cause: new Error('inner https://hooks.example/T0/abc') });
    const copy = redactValue(err, secrets);
    expect(copy).not.toBe(err);
    expect(copy).toBeInstanceOf(ApplicationFailure);
    expect(copy.type).toBe('X');
    expect(copy.message).toBe('denied with [redacted AWS_SECRET_ACCESS_KEY]');
    expect(copy.stack).not.toContain('aws-s3cr3t-value');
    expect((copy.cause as Error).message).toBe('inner [redacted MLCYCLE_WEBHOOK_URL]');
    expect(err.message).toContain('aws-s3cr3t-value');
  });

  it('redacts a failure in place: message, stack, details and causes', () => {
    const err = ApplicationFailure.create({ message: 'aws-s3cr3t-value', type: 'X', details: [{ found: 'aws-s3cr3t-value' }], cause: new Error('https://hooks.example/T0/abc') });
    redactErrorInPlace(err, secrets);
    const seen = JSON.stringify({ m: err.message, s: err.stack, d: err.details, c: (err.cause as Error).message, cs: (err.cause as Error).stack });
    expect(seen).not.toContain('aws-s3cr3t-value');
    expect(seen).not.toContain('hooks.example');
    expect(err.details).toEqual([{ found: '[redacted AWS_SECRET_ACCESS_KEY]' }]);
  });
});

describe('log lines', () => {
  it('of the runtime logger (text and JSON), mlcycle itself and a fatal error carry no secret', () => {
    const value = 'log-secret-0123456789';
    process.env.MLCYCLE_TEST_LOG_SECRET = value;
    try {
      const lines: string[] = [];
      for (const format of ['text', 'json'] as const) {
        const logger = createRuntimeLogger({ format, level: 'INFO', write: (l) => lines.push(l) });
        logger.warn(`Activity failed ${value}`, { error: new Error(`boom ${value}`), nested: { list: [value] } });
        lineLogger({ format, level: 'INFO', write: (l) => lines.push(l) })(`minio died: ${value}`);
      }
      lines.push(fatalLine(`cannot connect: ${value}`));
      expect(lines).toHaveLength(5);
      for (const line of lines) {
        expect(line).not.toContain(value);
        expect(line).toContain('[redacted MLCYCLE_TEST_LOG_SECRET]');
      }
    } finally {
      delete process.env.MLCYCLE_TEST_LOG_SECRET;
    }
  });
});

describe('redacting an error that resists', () => {
  it('leaves a frozen error as it is instead of throwing', () => {
    const err = Object.freeze(new Error('aws-s3cr3t-value'));
    expect(() => redactErrorInPlace(err, secretValues({ AWS_SECRET_ACCESS_KEY: 'aws-s3cr3t-value' }))).not.toThrow();
  });
});

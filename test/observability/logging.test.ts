import { describe, expect, it } from 'vitest';
import { createRuntimeLogger, fatalLine, formatJsonLogEntry, jsonProcessWarnings, lineLogger } from '../../src/observability/logging';

const at = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

describe('JSON log lines', () => {
  it('start with time, level and message, then carry the SDK metadata', () => {
    const line = formatJsonLogEntry({
      level: 'INFO',
      message: 'step cache hit',
      timestampNanos: at('2025-03-04T05:06:07.089Z'),
      meta: { workflowId: 'churn-train-1', runId: 'r-1', activityType: 'trainModel', attempt: 2, [Symbol.for('log_timestamp')]: 1n },
    });
    expect(Object.keys(JSON.parse(line)).slice(0, 3)).toEqual(['time', 'level', 'message']);
    expect(JSON.parse(line)).toEqual({
      time: '2025-03-04T05:06:07.089Z',
      level: 'INFO',
      message: 'step cache hit',
      workflowId: 'churn-train-1',
      runId: 'r-1',
      activityType: 'trainModel',
      attempt: 2,
    });
    expect(line).not.toContain('\n');
  });

  it('keep errors readable and never break on bigints, bytes, cycles or clashing keys', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    const err = new Error('boom', { cause: new TypeError('inner') });
    const parsed = JSON.parse(
      formatJsonLogEntry({
        level: 'WARN',
        message: 'Activity failed',
        timestampNanos: at('2025-01-01T00:00:00.000Z'),
        meta: { error: err, big: 12345678901234567890n, bytes: Buffer.from('secret'), cyclic, message: 'spoofed', level: 'ERROR', taskToken: 'dG9rZW4=' },
      }),
    );
    expect(parsed.message).toBe('Activity failed');
    expect(parsed.level).toBe('WARN');
    expect(parsed.error).toMatchObject({ name: 'Error', message: 'boom', cause: { name: 'TypeError', message: 'inner' } });
    expect(parsed.error.stack).toContain('boom');
    expect(parsed.big).toBe('12345678901234567890');
    expect(parsed.bytes).toBe('<6 bytes>');
    expect(parsed.cyclic).toEqual({ name: 'a', self: '[Circular]' });
    // A task token completes someone else's activity: it stays out of log collectors.
    expect(parsed).not.toHaveProperty('taskToken');
  });
});

describe('the runtime logger', () => {
  it('writes one JSON object per line at or above its level', () => {
    const lines: string[] = [];
    const logger = createRuntimeLogger({ format: 'json', level: 'INFO', write: (l) => lines.push(l) });
    logger.debug('too detailed', { workflowId: 'w' });
    logger.info('Worker state changed', { state: 'RUNNING', taskQueue: 'cpu' });
    logger.error('Worker failed', { error: new Error('x') });
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { level: 'INFO', message: 'Worker state changed', state: 'RUNNING', taskQueue: 'cpu' },
      { level: 'ERROR', message: 'Worker failed', error: { message: 'x' } },
    ]);
  });
});

describe("mlcycle's own lines", () => {
  it('stay plain text for a terminal, whatever the level', () => {
    const lines: string[] = [];
    lineLogger({ format: 'text', level: 'ERROR', write: (l) => lines.push(l) })('worker ready on queue cpu');
    expect(lines).toEqual(['worker ready on queue cpu']);
  });

  it('are INFO records in JSON, dropped below the level', () => {
    const lines: string[] = [];
    lineLogger({ format: 'json', level: 'INFO', write: (l) => lines.push(l) })('worker ready on queue cpu');
    lineLogger({ format: 'json', level: 'WARN', write: (l) => lines.push(l) })('not shown');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] ?? '');
    expect(record).toMatchObject({ level: 'INFO', message: 'worker ready on queue cpu', component: 'mlcycle' });
    expect(Date.now() - Date.parse(record.time)).toBeLessThan(60_000);
  });
});

describe("Node's warnings in JSON mode", () => {
  it('become WARN records instead of plain text', async () => {
    const saved = process.listeners('warning');
    const lines: string[] = [];
    try {
      jsonProcessWarnings({ level: 'INFO', write: (l) => lines.push(l) });
      process.emitWarning('NodeVersionSupportWarning: upgrade\nsoon', { code: 'X1' });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.removeAllListeners('warning');
      for (const l of saved) process.on('warning', l);
    }
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 'WARN', message: 'NodeVersionSupportWarning: upgrade\nsoon', component: 'node', warning: 'Warning', code: 'X1' });
  });
});

describe('the fatal line a failing command ends with', () => {
  it('is text for a person and an ERROR record with the code in JSON mode', () => {
    expect(fatalLine('spec is invalid', 'SPEC_INVALID', {})).toBe('mlcycle: spec is invalid');
    const record = JSON.parse(fatalLine('spec is invalid', 'SPEC_INVALID', { MLCYCLE_LOG_FORMAT: 'json' })) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'ERROR', message: 'spec is invalid', code: 'SPEC_INVALID', component: 'mlcycle' });
  });

  it('falls back to text when the log settings themselves are bad', () => {
    expect(fatalLine('invalid environment', 'CONFIG_INVALID', { MLCYCLE_LOG_FORMAT: 'xml' })).toBe('mlcycle: invalid environment');
  });
});

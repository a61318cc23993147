import { formatWithOptions } from 'node:util';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { LogLevel, Logger } from '@temporalio/common';
import { redactSecrets, redactValue, secretValues } from '../config/secrets';
import { observabilitySettings, type LogFormat } from './settings';

const SEVERITY: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

/** Keys every JSON line starts with; metadata of the same name cannot overwrite them. */
const RESERVED = new Set(['time', 'level', 'message']);

/**
 * Metadata left out of JSON lines: a task token is a credential for completing someone else's
 * activity and a few hundred bytes of base64 on every activity line.
 */
const DROPPED = new Set(['taskToken']);

const stderrLine = (line: string) => {
  process.stderr.write(`${line}\n`);
};

/**
 * One JSON object per line: time, level, message, then the metadata the SDK attaches (workflowId,
 * runId, activityType, attempt, …). Errors keep their name, message and stack; binary data and
 * cycles cannot break a line.
 */
export function formatJsonLogEntry(entry: LogEntry): string {
  const record: Record<string, unknown> = {
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    message: entry.message,
  };
  // Object.entries skips the SDK's symbol-keyed timestamp, which is already in `time`.
  for (const [key, value] of Object.entries(entry.meta ?? {})) {
    if (RESERVED.has(key) || DROPPED.has(key) || value === undefined) continue;
    record[key] = value;
  }
  try {
    return JSON.stringify(record, jsonReplacer());
  } catch (err) {
    return JSON.stringify({ time: record.time, level: record.level, message: record.message, logError: `metadata not serializable: ${(err as Error).message}` });
  }
}

function jsonReplacer() {
  const seen = new WeakSet();
  return function (this: Record<string, unknown>, key: string, value: unknown): unknown {
    // `value` has been through toJSON already (a Buffer arrives as {type, data}); the holder has the original.
    const raw = key === '' ? value : this[key];
    if (typeof raw === 'bigint') return raw.toString();
    if (raw instanceof Uint8Array) return `<${raw.byteLength} bytes>`;
    if (raw instanceof Error) {
      if (seen.has(raw)) return '[Circular]';
      seen.add(raw);
      const withCause = raw as Error & { cause?: unknown };
      return { ...(raw as unknown as Record<string, unknown>), name: raw.name, message: raw.message, stack: raw.stack, ...(withCause.cause !== undefined ? { cause: withCause.cause } : {}) };
    }
    if (value !== null && typeof value === 'object') {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  };
}

/**
 * The SDK's text line (`<time> [LEVEL] message {meta}`), written by mlcycle so it can be redacted:
 * the SDK's own default writes straight to stderr.
 */
export function formatTextLogEntry(entry: LogEntry, colors = false): string {
  const format = formatWithOptions.bind(undefined, { colors });
  const date = new Date(Number(entry.timestampNanos / 1_000_000n));
  return entry.meta === undefined ? `${format(date)} [${entry.level}] ${entry.message}` : `${format(date)} [${entry.level}] ${entry.message} ${format(entry.meta)}`;
}

/** An entry without the process's secrets (config/secrets.ts): message and metadata, errors included. */
function redactEntry(entry: LogEntry): LogEntry {
  const secrets = secretValues();
  const message = redactValue(entry.message, secrets);
  const meta = redactValue(entry.meta, secrets);
  return message === entry.message && meta === entry.meta ? entry : { ...entry, message, meta };
}

/**
 * The Runtime's logger: SDK, workflow (`log`) and activity (`Context.current().log`) messages,
 * Core's forwarded lines. Every line is redacted first: an activity's log or a library's error
 * may quote a secret.
 */
export function createRuntimeLogger(opts: { format: LogFormat; level: LogLevel; write?: (line: string) => void }): Logger {
  const write = opts.write ?? stderrLine;
  const colors = opts.write === undefined && opts.format === 'text' && (process.stderr.hasColors?.() ?? false);
  const render = opts.format === 'text' ? (e: LogEntry) => formatTextLogEntry(e, colors) : formatJsonLogEntry;
  return new DefaultLogger(opts.level, (entry) => write(render(redactEntry(entry))));
}

/**
 * mlcycle's own worker lines ("worker ready on queue cpu", …). As text they stay what a person at
 * a terminal has always read, whatever the level; as JSON they are INFO records like the rest, so a
 * log collector sees one format on stderr.
 */
export function lineLogger(opts: { format: LogFormat; level: LogLevel; write?: (line: string) => void }): (line: string) => void {
  const write = opts.write ?? stderrLine;
  // A line may quote a failure (a service's last output, an error): redacted like the SDK's.
  if (opts.format === 'text') return (line) => write(redactSecrets(line));
  if (SEVERITY.INFO < SEVERITY[opts.level]) return () => undefined;
  return (line) =>
    write(formatJsonLogEntry({ level: 'INFO', message: redactSecrets(line), timestampNanos: BigInt(Date.now()) * 1_000_000n, meta: { component: 'mlcycle' } }));
}

/** lineLogger for this process's MLCYCLE_LOG_FORMAT and MLCYCLE_LOG_LEVEL. */
export function processLineLogger(): (line: string) => void {
  const settings = observabilitySettings();
  return lineLogger({ format: settings.logFormat, level: settings.logLevel });
}

/**
 * In JSON mode Node's own warnings (deprecations, a dependency's notices) would be the only
 * multi-line plain text on stderr and break a collector's parsing: they become WARN records.
 */
export function jsonProcessWarnings(opts: { level: LogLevel; write?: (line: string) => void }): void {
  const write = opts.write ?? stderrLine;
  process.removeAllListeners('warning');
  if (SEVERITY.WARN < SEVERITY[opts.level]) return;
  process.on('warning', (warning) => {
    const code = (warning as Error & { code?: string }).code;
    write(
      formatJsonLogEntry({
        level: 'WARN',
        message: warning.message,
        timestampNanos: BigInt(Date.now()) * 1_000_000n,
        meta: { component: 'node', warning: warning.name, ...(code ? { code } : {}) },
      }),
    );
  });
}

/**
 * The line a failing command ends with: `mlcycle: <message>` for a person, an ERROR record (with
 * the error code) in JSON mode, so a collector reading a worker's stderr sees why it exited. A bad
 * observability variable is itself such a failure: it is reported as text.
 */
export function fatalLine(message: string, code?: string, source: NodeJS.ProcessEnv = process.env): string {
  let format: LogFormat = 'text';
  try {
    format = observabilitySettings(source).logFormat;
  } catch {
    // fall through to text
  }
  const redacted = redactSecrets(message);
  if (format === 'text') return `mlcycle: ${redacted}`;
  return formatJsonLogEntry({ level: 'ERROR', message: redacted, timestampNanos: BigInt(Date.now()) * 1_000_000n, meta: { component: 'mlcycle', ...(code ? { code } : {}) } });
}

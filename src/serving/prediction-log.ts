/**
 * Prediction logs for monitoring: every scored row, with its inputs, as JSON lines in the artifact
 * store, one named object per flushed batch and hour:
 *
 *   predictions/<model>/<YYYY-MM-DD>/<HH>/<timestamp>-<random>.jsonl     (UTC)
 *   {"ts":"2025-01-02T03:04:05.678Z","model":"churn","version":3,"inputs":{…},"probability":0.42}
 *
 * A batch is split by the hour of its rows' `ts`, so the folder of an hour holds exactly the rows
 * scored in that hour; `<timestamp>` is the first row's time (sortable, to the millisecond) and
 * `<random>` keeps two servers (or two flushes in one millisecond) from sharing a key.
 *
 * Logging never blocks or fails a prediction: `add` only appends to an in-memory buffer, writes
 * happen in the background (one at a time), a failed write keeps its rows for the next attempt,
 * and the buffer is bounded in rows and in bytes: past `maxBufferedRows` or `maxBufferedBytes`
 * the oldest rows are dropped (and counted). Rows are serialized when they arrive, so what is held
 * is exactly what is counted; a row above `maxRowBytes` (a client sending huge extra fields) has
 * its largest input fields replaced by a marker until it fits, and is counted as truncated.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import type { NamedStore } from '../storage/artifact-store';

/** One logged prediction: a JSON line of a log object, read back by monitoring through this schema. */
export const PredictionLogEntrySchema = z.object({
  /** ISO-8601 UTC time the request was scored. */
  ts: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 timestamp'),
  model: z.string().min(1),
  version: z.number().int().positive(),
  /** The row as the client sent it (after validation), extra fields included. */
  inputs: z.record(z.string(), z.unknown()),
  probability: z.number(),
  /** Set when input fields were replaced by TRUNCATED_MARKER to fit the line limit. */
  truncated: z.boolean().optional(),
});
export type PredictionLogEntry = z.infer<typeof PredictionLogEntrySchema>;

export interface PredictionLoggerOptions {
  store: NamedStore;
  model: string;
  /** Write whatever is buffered at least this often (ms). */
  flushMs: number;
  /** Write as soon as this many rows are buffered; also the most rows one object holds. */
  batchRows: number;
  /** Past this many buffered rows (the store being down), the oldest are dropped. Default 100,000. */
  maxBufferedRows?: number;
  /** Past this many buffered bytes of JSON, the oldest rows are dropped. Default 64 MiB. */
  maxBufferedBytes?: number;
  /** A row's JSON above this is truncated (largest input fields first). Default 16 KiB. */
  maxRowBytes?: number;
  onTruncated?: (rows: number) => void;
  log?: (line: string) => void;
  onWritten?: (rows: number) => void;
  onDropped?: (rows: number) => void;
}

export interface PredictionLogger {
  /** Never throws, never waits. */
  add(entries: readonly PredictionLogEntry[]): void;
  /** Writes everything buffered when called (one attempt); resolves even if a write fails. */
  flush(): Promise<void>;
  /** Rows buffered, not yet written. */
  pending(): number;
  /** Bytes (of JSON) buffered, not yet written. */
  pendingBytes(): number;
  /** Stops the timer and flushes; rows a final failed write could not store are dropped (and logged). */
  close(): Promise<void>;
}

export const PREDICTIONS_PREFIX = 'predictions/';

export function predictionLogPrefix(model: string): string {
  return `${PREDICTIONS_PREFIX}${model}/`;
}

/** 2025-01-02T03:04:05.678Z → 20250102T030405678Z: fixed width, so it sorts as it reads. */
function sortableTime(iso: string): string {
  return iso.replace(/[-:.]/g, '');
}

/** The key of a log object whose first row was scored at `firstTs` (an ISO-8601 UTC time). */
export function predictionLogKey(model: string, firstTs: string, suffix = randomBytes(4).toString('hex')): string {
  const iso = new Date(firstTs).toISOString();
  return `${predictionLogPrefix(model)}${iso.slice(0, 10)}/${iso.slice(11, 13)}/${sortableTime(iso)}-${suffix}.jsonl`;
}

/** A row as buffered: its time (for the hour split) and its JSON line. */
interface Line {
  ts: string;
  json: string;
}

export const TRUNCATED_MARKER = '(mlcycle: truncated)';

/**
 * The entry's JSON line within `maxBytes`: the largest input fields are replaced by a marker,
 * one at a time, until it fits (`truncated: true` is added). Undefined when it cannot be
 * serialized at all.
 */
export function serializeEntry(e: PredictionLogEntry, maxBytes: number): { json: string; truncated: boolean } | undefined {
  let json: string;
  try {
    json = JSON.stringify(e);
  } catch {
    return undefined;
  }
  if (json.length <= maxBytes) return { json, truncated: false };
  const inputs: Record<string, unknown> = { ...e.inputs };
  const sizes = Object.entries(inputs)
    .map(([k, v]) => [k, JSON.stringify(v)?.length ?? 0] as const)
    .sort((a, b) => b[1] - a[1]);
  for (const [k] of sizes) {
    inputs[k] = TRUNCATED_MARKER;
    json = JSON.stringify({ ...e, inputs, truncated: true });
    if (json.length <= maxBytes) break;
  }
  if (json.length > maxBytes) json = JSON.stringify({ ts: e.ts, model: e.model, version: e.version, inputs: {}, probability: e.probability, truncated: true });
  return { json, truncated: true };
}

/** One written object holds at most about this much JSON (a batch of fat rows is split), whatever batchRows says. */
const MAX_OBJECT_BYTES = 8 * 1024 * 1024;

export function createPredictionLogger(opts: PredictionLoggerOptions): PredictionLogger {
  const { store, model } = opts;
  const batchRows = Math.max(1, Math.floor(opts.batchRows));
  const maxBuffered = Math.max(batchRows, opts.maxBufferedRows ?? 100_000);
  const maxBytes = Math.max(1024, opts.maxBufferedBytes ?? 64 * 1024 * 1024);
  const maxRowBytes = Math.max(512, opts.maxRowBytes ?? 16 * 1024);
  const log = opts.log ?? (() => undefined);
  let buffer: Line[] = [];
  let bytes = 0;
  let running: Promise<void> | undefined;
  let failing = false;
  let closed = false;

  function trim(): void {
    let excess = Math.max(0, buffer.length - maxBuffered);
    let freed = 0;
    for (let i = 0; i < excess; i++) freed += buffer[i]!.json.length;
    while (excess < buffer.length && bytes - freed > maxBytes) freed += buffer[excess++]!.json.length;
    if (excess <= 0) return;
    buffer.splice(0, excess);
    bytes -= freed;
    opts.onDropped?.(excess);
  }

  /** One object: rows of one hour (see `take`), as JSON lines. */
  async function writeBatch(batch: readonly Line[]): Promise<void> {
    await store.putNamed(predictionLogKey(model, batch[0]!.ts), batch.map((l) => l.json).join('\n') + '\n', { contentType: 'application/x-ndjson' });
  }

  /** Removes the next batch: at most `max` rows and about MAX_OBJECT_BYTES, all from the hour of the first one. */
  function take(max: number): Line[] {
    const hour = buffer[0]!.ts.slice(0, 13);
    let n = 1;
    let size = buffer[0]!.json.length;
    while (n < max && n < buffer.length && size < MAX_OBJECT_BYTES && buffer[n]!.ts.slice(0, 13) === hour) size += buffer[n++]!.json.length;
    const taken = buffer.splice(0, n);
    for (const l of taken) bytes -= l.json.length;
    return taken;
  }

  /**
   * Writes full batches while there are any, and with `all` also the rows buffered when the drain
   * began, however few (but not the ones that arrive while it writes: under steady load that would
   * never end, in ever smaller objects). Stops at the first failure.
   */
  async function drain(all: boolean): Promise<void> {
    let owed = all ? buffer.length : 0;
    while (buffer.length >= batchRows || (owed > 0 && buffer.length > 0)) {
      const batch = take(buffer.length >= batchRows ? batchRows : Math.min(batchRows, owed));
      owed -= batch.length;
      try {
        await writeBatch(batch);
        opts.onWritten?.(batch.length);
        if (failing) log(`prediction log: writing to the store works again`);
        failing = false;
      } catch (err) {
        // Keep the rows for the next attempt (oldest first), within the bound.
        buffer = batch.concat(buffer);
        for (const l of batch) bytes += l.json.length;
        trim();
        if (!failing) {
          log(`prediction log: writing ${batch.length} rows failed (kept for retry): ${err instanceof Error ? err.message : String(err)}`);
        }
        failing = true;
        return;
      }
    }
  }

  function start(all: boolean): Promise<void> {
    if (!running) {
      running = drain(all).finally(() => {
        running = undefined;
      });
    }
    return running;
  }

  async function flush(): Promise<void> {
    // Let a write in progress finish, then write whatever is left, however few.
    while (running) await running;
    await start(true);
  }

  // Started by the first row, so a logger that never logs leaves no timer behind.
  let timer: NodeJS.Timeout | undefined;

  return {
    add(entries) {
      if (closed || entries.length === 0) return;
      if (!timer) {
        timer = setInterval(() => void flush(), Math.max(10, opts.flushMs));
        timer.unref();
      }
      let truncated = 0;
      let unwritable = 0;
      for (const e of entries) {
        const line = serializeEntry(e, maxRowBytes);
        if (!line) {
          // Kept, a row that cannot be JSON would fail every write and hold up the rows behind it.
          unwritable++;
          continue;
        }
        if (line.truncated) truncated++;
        buffer.push({ ts: e.ts, json: line.json });
        bytes += line.json.length;
      }
      if (unwritable > 0) {
        opts.onDropped?.(unwritable);
        log(`prediction log: dropped ${unwritable} row${unwritable === 1 ? '' : 's'} that cannot be written as JSON`);
      }
      if (truncated > 0) opts.onTruncated?.(truncated);
      trim();
      if (buffer.length >= batchRows) void start(false);
    },
    flush,
    pending: () => buffer.length,
    pendingBytes: () => bytes,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      await flush();
      if (buffer.length > 0) {
        log(`prediction log: dropping ${buffer.length} rows that could not be written on shutdown`);
        opts.onDropped?.(buffer.length);
        buffer = [];
        bytes = 0;
      }
    },
  };
}

/**
 * Reads logged predictions of a model back, oldest object first, optionally only rows with
 * `since <= ts < until` (whole hours outside the range are not even read).
 */
export async function readPredictionLogs(
  store: NamedStore,
  model: string,
  range: { since?: Date; until?: Date } = {},
): Promise<PredictionLogEntry[]> {
  const prefix = predictionLogPrefix(model);
  const sinceHour = range.since ? range.since.toISOString().slice(0, 13) : undefined;
  const untilHour = range.until ? range.until.toISOString().slice(0, 13) : undefined;
  const keys = (await store.listNamed(prefix))
    .filter((key) => {
      const m = /^(\d{4}-\d{2}-\d{2})\/(\d{2})\/[^/]+\.jsonl$/.exec(key.slice(prefix.length));
      if (!m) return false;
      const hour = `${m[1]}T${m[2]}`;
      return (sinceHour === undefined || hour >= sinceHour) && (untilHour === undefined || hour <= untilHour);
    })
    .sort();
  const out: PredictionLogEntry[] = [];
  for (const key of keys) {
    const bytes = await store.getNamed(key);
    if (bytes === undefined) continue;
    const lines = bytes.toString('utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch (err) {
        throw new MlcycleError('DATA_INVALID', `${store.uriForKey(key)} line ${i + 1} is not valid JSON: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const parsed = PredictionLogEntrySchema.safeParse(doc);
      if (!parsed.success) throw new MlcycleError('DATA_INVALID', `${store.uriForKey(key)} line ${i + 1} is not a prediction log entry:\n${formatIssues(parsed.error)}`);
      const entry = parsed.data;
      const t = Date.parse(entry.ts);
      if (range.since && t < range.since.getTime()) continue;
      if (range.until && t >= range.until.getTime()) continue;
      out.push(entry);
    }
  }
  return out;
}

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
 * and the buffer is bounded: past `maxBufferedRows` the oldest rows are dropped (and counted).
 */
import { randomBytes } from 'node:crypto';
import { MlcycleError } from '../errors';
import type { ArtifactStore } from '../storage/artifact-store';
import type { Row } from '../training/features';

export interface PredictionLogEntry {
  /** ISO-8601 UTC time the request was scored. */
  ts: string;
  model: string;
  version: number;
  /** The row as the client sent it (after validation), extra fields included. */
  inputs: Row;
  probability: number;
}

export interface PredictionLoggerOptions {
  store: ArtifactStore;
  model: string;
  /** Write whatever is buffered at least this often (ms). */
  flushMs: number;
  /** Write as soon as this many rows are buffered; also the most rows one object holds. */
  batchRows: number;
  /** Past this many buffered rows (the store being down), the oldest are dropped. Default 100,000. */
  maxBufferedRows?: number;
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

export function createPredictionLogger(opts: PredictionLoggerOptions): PredictionLogger {
  const { store, model } = opts;
  const batchRows = Math.max(1, Math.floor(opts.batchRows));
  const maxBuffered = Math.max(batchRows, opts.maxBufferedRows ?? 100_000);
  const log = opts.log ?? (() => undefined);
  let buffer: PredictionLogEntry[] = [];
  let running: Promise<void> | undefined;
  let failing = false;
  let closed = false;

  function trim(): void {
    const excess = buffer.length - maxBuffered;
    if (excess <= 0) return;
    buffer.splice(0, excess);
    opts.onDropped?.(excess);
  }

  /** One object: rows of one hour (see `take`), as JSON lines. */
  async function writeBatch(batch: readonly PredictionLogEntry[], lines: readonly string[]): Promise<void> {
    await store.putNamed(predictionLogKey(model, batch[0]!.ts), lines.join('\n') + '\n', { contentType: 'application/x-ndjson' });
  }

  /**
   * The rows of `batch` that serialize, with their lines. A row that does not (an extra field
   * nested too deeply for JSON.stringify) is dropped here: kept, it would fail every retry and
   * hold up all the rows behind it.
   */
  function serialize(batch: readonly PredictionLogEntry[]): { kept: PredictionLogEntry[]; lines: string[] } {
    const kept: PredictionLogEntry[] = [];
    const lines: string[] = [];
    let problem: unknown;
    for (const e of batch) {
      try {
        lines.push(JSON.stringify(e));
        kept.push(e);
      } catch (err) {
        problem = err;
      }
    }
    const dropped = batch.length - kept.length;
    if (dropped > 0) {
      opts.onDropped?.(dropped);
      log(`prediction log: dropped ${dropped} row${dropped === 1 ? '' : 's'} that cannot be written as JSON: ${problem instanceof Error ? problem.message : String(problem)}`);
    }
    return { kept, lines };
  }

  /** Removes the next batch: at most `max` rows, all from the hour of the first one. */
  function take(max: number): PredictionLogEntry[] {
    const hour = buffer[0]!.ts.slice(0, 13);
    let n = 1;
    while (n < max && n < buffer.length && buffer[n]!.ts.slice(0, 13) === hour) n++;
    return buffer.splice(0, n);
  }

  /**
   * Writes full batches while there are any, and with `all` also the rows buffered when the drain
   * began, however few (but not the ones that arrive while it writes: under steady load that would
   * never end, in ever smaller objects). Stops at the first failure.
   */
  async function drain(all: boolean): Promise<void> {
    let owed = all ? buffer.length : 0;
    while (buffer.length >= batchRows || (owed > 0 && buffer.length > 0)) {
      const taken = take(buffer.length >= batchRows ? batchRows : Math.min(batchRows, owed));
      owed -= taken.length;
      const { kept: batch, lines } = serialize(taken);
      if (batch.length === 0) continue;
      try {
        await writeBatch(batch, lines);
        opts.onWritten?.(batch.length);
        if (failing) log(`prediction log: writing to the store works again`);
        failing = false;
      } catch (err) {
        // Keep the rows for the next attempt (oldest first), within the bound.
        buffer = batch.concat(buffer);
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
      for (const e of entries) buffer.push(e);
      trim();
      if (buffer.length >= batchRows) void start(false);
    },
    flush,
    pending: () => buffer.length,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      await flush();
      if (buffer.length > 0) {
        log(`prediction log: dropping ${buffer.length} rows that could not be written on shutdown`);
        opts.onDropped?.(buffer.length);
        buffer = [];
      }
    },
  };
}

/**
 * Reads logged predictions of a model back, oldest object first, optionally only rows with
 * `since <= ts < until` (whole hours outside the range are not even read).
 */
export async function readPredictionLogs(
  store: ArtifactStore,
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
      let entry: PredictionLogEntry;
      try {
        entry = JSON.parse(line) as PredictionLogEntry;
      } catch (err) {
        throw new MlcycleError('DATA_INVALID', `${store.uriForKey(key)} line ${i + 1} is not valid JSON: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const t = Date.parse(entry.ts);
      if (range.since && t < range.since.getTime()) continue;
      if (range.until && t >= range.until.getTime()) continue;
      out.push(entry);
    }
  }
  return out;
}

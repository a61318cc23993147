/**
 * A mutable value kept as a folder of numbered, never-overwritten states (`<prefix>000001.json`,
 * `000002.json`, …), the current value being the highest number — the model registry's scheme
 * (see model-registry.ts), here for the other values several writers may change at once: the
 * deployment record and the retrain claim.
 *
 * Changing the value means reading state n and conditionally creating n+1 (S3 If-None-Match: *).
 * Exactly one of any number of concurrent writers of n+1 wins; the others re-read and decide
 * again, so a change is always decided on the state it replaces (compare-and-set without If-Match).
 */
import { MlcycleError } from '../errors';
import type { NamedStore } from './artifact-store';

const SEQ_FILE = /^(\d+)\.json$/;
/** Each round loses only to another writer's success, so this bounds pathological contention only. */
const MAX_ROUNDS = 200;

export const stateKey = (prefix: string, seq: number): string => `${prefix}${String(seq).padStart(6, '0')}.json`;

export interface State<T> {
  /** 0 when there is no state yet. */
  seq: number;
  value: T | undefined;
}

/** The highest state under `prefix`, parsed by `parse` (which throws a named error on bad data). */
export async function readLatestState<T>(
  store: NamedStore,
  prefix: string,
  parse: (raw: unknown, where: string) => T,
): Promise<State<T>> {
  let seq = 0;
  for (const key of await store.listNamed(prefix)) {
    const n = SEQ_FILE.exec(key.slice(prefix.length))?.[1];
    if (key.startsWith(prefix) && n !== undefined) seq = Math.max(seq, Number(n));
  }
  if (seq === 0) return { seq: 0, value: undefined };
  const key = stateKey(prefix, seq);
  const bytes = await store.getNamed(key);
  if (bytes === undefined) {
    throw new MlcycleError('DATA_INVALID', `${store.uriForKey(key)} vanished after being listed (states are never deleted)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MlcycleError('DATA_INVALID', `${store.uriForKey(key)} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return { seq, value: parse(raw, store.uriForKey(key)) };
}

/**
 * Compare-and-set: `decide` sees the current state and returns the next value, or undefined to
 * leave it as it is. Runs again on a fresh read whenever another writer got there first, so
 * `decide` must read whatever else it depends on itself (it is called once per round).
 */
export async function updateState<T, R>(
  store: NamedStore,
  prefix: string,
  parse: (raw: unknown, where: string) => T,
  decide: (current: State<T>) => Promise<{ next?: T; result: R }>,
): Promise<{ result: R; written: boolean; seq: number }> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const current = await readLatestState(store, prefix, parse);
    const { next, result } = await decide(current);
    if (next === undefined) return { result, written: false, seq: current.seq };
    const seq = current.seq + 1;
    const { created } = await store.putNamed(stateKey(prefix, seq), JSON.stringify(next), {
      ifNoneMatch: true,
      contentType: 'application/json',
    });
    if (created) return { result, written: true, seq };
  }
  throw new MlcycleError('SERVICE_UNREACHABLE', `updating ${store.uriForKey(prefix)}: gave up after ${MAX_ROUNDS} rounds of conflicting concurrent writes`);
}

/**
 * Settings every dev server mlcycle starts runs with (`mlcycle dev`, the test harness, the
 * benches). Measured in bench/orchestration-overhead.ts and bench/peers/ (see the README's
 * benchmark section); the production equivalents live in deploy/temporal/dynamicconfig.yaml.
 *
 * Why: the dev server has one history shard, and the transfer queue reader of a shard is limited
 * to `history.transferProcessorMaxPollRPS` reads per second (default 20). Each activity step needs
 * two transfer tasks (activity dispatch, then the workflow task after it), so a sequential chain
 * cannot go faster than 2 × 50 ms per step however fast everything else is. Raising the limit
 * leaves the reader woken by new tasks at once.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = {
  // The polling floor above: 20 → 1000 reads/s per shard (dev server: one shard).
  'history.transferProcessorMaxPollRPS': 1000,
  // Timers (retry backoff, durable sleeps, timeouts) are read by the same kind of limited reader.
  'history.timerProcessorMaxPollRPS': 1000,
  // A workflow task that schedules an activity on its own task queue gets the activity back in the
  // completion response when the worker has a free slot: no matching round trip for that step.
  'system.enableActivityEagerExecution': true,
};

/**
 * SQLite settings for the dev server's state file. WAL lets readers (visibility, the UI) run beside
 * the writer, and synchronous=NORMAL syncs at checkpoints rather than at every commit: a power
 * loss (not a process crash) can lose the last transactions of a local dev server, which is the
 * trade any local dev tool makes; the production cluster runs PostgreSQL.
 */
export const DEV_SERVER_SQLITE_PRAGMAS: Readonly<Record<string, string>> = {
  journal_mode: 'wal',
  synchronous: 'normal',
};

/** `temporal server start-dev` arguments for the settings above. */
export function devServerTuningArgs(): string[] {
  return [
    ...Object.entries(DEV_SERVER_DYNAMIC_CONFIG).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
    ...Object.entries(DEV_SERVER_SQLITE_PRAGMAS).flatMap(([key, value]) => ['--sqlite-pragma', `${key}=${value}`]),
  ];
}

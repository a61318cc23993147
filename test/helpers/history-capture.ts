import fs from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';

/**
 * Set by `npm run capture-histories` to the folder histories go to (test/replay/histories). Unset,
 * capturing costs nothing, so the integration tests can call it unconditionally.
 */
export const CAPTURE_ENV = 'MLCYCLE_CAPTURE_HISTORIES';

const SCENARIO = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const CLOSE_TIMEOUT_MS = 120_000;

/**
 * Writes the history of `workflowId` (every run of a continue-as-new chain) to
 * `<dir>/<workflow type>-<scenario>.json`, or `…-<scenario>-run-<n>.json` for a chain (see
 * {@link historyFileText} for the format). Payloads stay as the server holds them, encrypted with
 * the suite's committed test key.
 *
 * A file that already exists is kept: it stands for histories that running workflows already
 * have, which new code must go on replaying; overwriting it would hide exactly the
 * incompatibility the replay test is there to catch. Delete a file by hand to re-capture it.
 *
 * Returns the files written (none when capturing is off or every file existed).
 */
export async function captureHistory(client: Client, workflowId: string, scenario: string): Promise<string[]> {
  const dir = process.env[CAPTURE_ENV];
  if (!dir) return [];
  if (!SCENARIO.test(scenario)) throw new Error(`history scenario "${scenario}" must be lower-case words joined by "-"`);

  // A history fetched while the run is still open would end mid-way; replaying it proves less.
  await waitClosed(client, workflowId);
  const chain = await runChain(client, workflowId);
  const type = chain[0]?.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
  if (!type) throw new Error(`history of ${workflowId} does not start with WorkflowExecutionStarted`);

  await fs.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [i, history] of chain.entries()) {
    const file = path.join(dir, chain.length === 1 ? `${type}-${scenario}.json` : `${type}-${scenario}-run-${i + 1}.json`);
    try {
      await fs.writeFile(file, `${historyFileText(workflowId, history)}\n`, { flag: 'wx' });
      written.push(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      process.stderr.write(`[capture-histories] kept existing ${path.relative(process.cwd(), file)}\n`);
    }
  }
  return written;
}

/**
 * `{ workflowId, events }`: the events in protobufjs's JSON form of the History message (enum
 * names; 64-bit ints, bytes and timestamps' seconds as strings), read back with
 * `temporal.api.history.v1.History.fromObject`. The `workflowId` is there because replay checks
 * each child workflow a run starts against the id the history recorded, and the pipeline derives
 * its children's ids from its own.
 *
 * Not `historyToJSON`/`historyFromJSON` from @temporalio/common: in this dependency tree
 * @temporalio/common and @temporalio/proto each get their own copy of protobufjs 8, so their
 * protojson refuses the other's types ("type must be a Type").
 */
export function historyFileText(workflowId: string, history: History): string {
  const HistoryMessage = temporal.api.history.v1.History;
  const json = HistoryMessage.toObject(HistoryMessage.fromObject(history), { longs: String, enums: String, bytes: String, json: true });
  // One event a line: a third smaller than indented JSON, and still greppable by event.
  const events = (json.events ?? []).map((e: unknown) => JSON.stringify(e)).join(',\n');
  return `{"workflowId": ${JSON.stringify(workflowId)},\n"events": [\n${events}\n]}`;
}

async function waitClosed(client: Client, workflowId: string): Promise<void> {
  const deadline = Date.now() + CLOSE_TIMEOUT_MS;
  for (;;) {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    if (status.name !== 'RUNNING') return;
    if (Date.now() > deadline) throw new Error(`workflow ${workflowId} still running after ${CLOSE_TIMEOUT_MS / 1000}s; capture closed runs only`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The latest run and, through each run's `continuedExecutionRunId`, the runs before it, oldest first. */
async function runChain(client: Client, workflowId: string): Promise<History[]> {
  const chain: History[] = [];
  let runId: string | undefined;
  do {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    chain.unshift(history);
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    // A retried or cron run also names its predecessor; only continue-as-new makes one logical run.
    const continued = started?.initiator === temporal.api.enums.v1.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW;
    runId = continued ? started?.continuedExecutionRunId || undefined : undefined;
  } while (runId);
  return chain;
}

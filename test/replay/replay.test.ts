import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type ReplayWorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { FAILURE_CONVERTER_PATH, workerDataConverter } from '../../src/codec/data-converter';
import { loadKeyring, type Keyring } from '../../src/codec/keyring';
import { parseEnv } from '../../src/config/env';
import { installRuntime } from '../../src/dev/dev-environment';
import { loadWorkflowBundle, quietLogger } from '../../src/worker/workflow-bundle';
import * as workflows from '../../workflows';

/**
 * Histories recorded by the integration tests (`npm run capture-histories`) replayed against the
 * workflow code as it is now. A change that makes the code issue different commands for a history
 * that already exists fails here with the SDK's determinism error, before it can wedge the runs a
 * deployed worker fleet has in flight. No Temporal server is involved: the replayer feeds the
 * recorded events to the bundle in-process.
 */

const HISTORIES_DIR = path.join(__dirname, 'histories');
const KEY_FILE = path.join(__dirname, '..', 'fixtures', 'codec-keys.json');
const CLOSED_BY_THE_WORKFLOW = [
  'workflowExecutionCompletedEventAttributes',
  'workflowExecutionFailedEventAttributes',
  'workflowExecutionCanceledEventAttributes',
  'workflowExecutionContinuedAsNewEventAttributes',
] as const;

/** Every function workflows/index.ts exports is a workflow type the workers register. */
const WORKFLOW_TYPES = Object.entries(workflows)
  .filter(([, v]) => typeof v === 'function')
  .map(([name]) => name)
  .sort();

interface Captured {
  file: string;
  workflowId: string;
  type: string;
  history: History;
}

function loadCaptured(): Captured[] {
  if (!fs.existsSync(HISTORIES_DIR)) return [];
  return fs
    .readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const doc = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as { workflowId?: unknown; events?: unknown };
      if (typeof doc.workflowId !== 'string') throw new Error(`${file}: no "workflowId"; write histories with npm run capture-histories`);
      // Proto objects, not JSON: given JSON the replayer would parse it with historyFromJSON,
      // which this dependency tree breaks (see test/helpers/history-capture.ts).
      const history = temporal.api.history.v1.History.fromObject({ events: doc.events });
      const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
      return { file, workflowId: doc.workflowId, type, history };
    });
}

async function replayAll(options: ReplayWorkerOptions, captured: Captured[]): Promise<Array<{ file: string; error?: Error }>> {
  const results: Array<{ file: string; error?: Error }> = [];
  const replays = Worker.runReplayHistories(
    options,
    captured.map((c) => ({ workflowId: c.workflowId, history: c.history })),
  );
  // The replayer handles one history at a time and yields in input order.
  for await (const r of replays) {
    const file = captured[results.length]?.file ?? '?';
    results.push(r.error ? { file, error: r.error } : { file });
  }
  return results;
}

const bundle = (workflowsPath: string) =>
  bundleWorkflowCode({ workflowsPath, failureConverterPath: FAILURE_CONVERTER_PATH, logger: quietLogger }).then((b): WorkflowBundleOption => ({ code: b.code }));

describe('replay of captured histories', () => {
  const captured = loadCaptured();
  let keyring: Keyring;
  let current: WorkflowBundleOption;
  const options = (workflowBundle: WorkflowBundleOption, keys: Keyring | undefined): ReplayWorkerOptions => ({
    workflowBundle,
    dataConverter: workerDataConverter(keys),
    replayName: 'mlcycle-replay',
  });

  beforeAll(async () => {
    installRuntime();
    keyring = loadKeyring(parseEnv({ MLCYCLE_CODEC_KEY_FILE: KEY_FILE })) as Keyring;
    // The bundle the workers run, failure converter included: what history is replayed against.
    current = await loadWorkflowBundle();
  });

  it('holds a history of every workflow type the workers register, each named after its type', () => {
    expect(WORKFLOW_TYPES).toEqual(expect.arrayContaining(['trainingPipeline', 'tuningStudy', 'deploymentWorkflow', 'monitorCheck']));
    for (const c of captured) {
      expect(WORKFLOW_TYPES, `${c.file} records type "${c.type}"`).toContain(c.type);
      expect(c.file.startsWith(`${c.type}-`), `${c.file} records type "${c.type}"`).toBe(true);
    }
    const missing = WORKFLOW_TYPES.filter((t) => !captured.some((c) => c.type === t));
    expect(missing, `no captured history for ${missing.join(', ')}: add the scenario to an integration test and run npm run capture-histories`).toEqual([]);
  });

  it('holds whole runs: each history ends where its workflow closed itself', () => {
    expect(captured.length).toBeGreaterThan(0);
    for (const c of captured) {
      const last = c.history.events?.at(-1);
      const closedBy = CLOSED_BY_THE_WORKFLOW.find((attr) => last?.[attr]);
      expect(closedBy, `${c.file} ends with event ${JSON.stringify(last?.eventType)}`).toBeDefined();
    }
  });

  it('covers the signed approval gate: decided by signed votes (update and signal), rejected, and timed out to its default', () => {
    const byFile = (f: string) => captured.find((c) => c.file === f)?.history.events ?? [];
    const approved = byFile('trainingPipeline-approval-signed-approved.json');
    const updates = approved.flatMap((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? []);
    const signals = approved.flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []);
    // alice's signed vote through the decide update, bob's signed statement as an approve signal.
    expect(updates).toEqual(['decide']);
    expect(signals).toContain('approve');
    expect(approved.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    expect(byFile('trainingPipeline-approval-signed-rejected.json').some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(true);
    for (const f of ['trainingPipeline-approval-signed-timeout-approve.json', 'trainingPipeline-approval-signed-timeout-reject.json']) {
      const events = byFile(f);
      expect(events.length, f).toBeGreaterThan(0);
      // No vote: the gate's timer decided.
      expect(events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes || e.workflowExecutionSignaledEventAttributes), f).toBe(false);
      expect(events.some((e) => e.timerFiredEventAttributes), f).toBe(true);
    }
  });

  it('replays every captured history with the current workflow code', async () => {
    const results = await replayAll(options(current, keyring), captured);
    expect(results.map((r) => r.file)).toEqual(captured.map((c) => c.file));
    expect(results.filter((r) => r.error).map((r) => `${r.file}: ${r.error?.name}: ${r.error?.message}`)).toEqual([]);
  });

  it('needs the suite key to replay: the histories carry encrypted payloads', async () => {
    const success = captured.find((c) => c.file === 'trainingPipeline-success.json');
    expect(success).toBeDefined();
    const input = success?.history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(Buffer.from(input?.metadata?.encoding ?? []).toString()).toBe('binary/encrypted');
    // Without the key the worker cannot decode the input: it hands the workflow the refusal marker
    // and the run fails at once (never a workflow task failing forever), which the replayer reports
    // as a failure where the history went on.
    const failure = await Worker.runReplayHistory(options(current, undefined), success?.history, success?.workflowId).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(DeterminismViolationError);
    expect((failure as Error).message).toMatch(/Fail workflow machine/);
  });

  describe('a change to trainingPipeline that issues a new command first', () => {
    const pipelineHistories = captured.filter((c) => c.type === 'trainingPipeline');
    let unguarded: WorkflowBundleOption;
    let guarded: WorkflowBundleOption;

    beforeAll(async () => {
      unguarded = await bundle(path.join(__dirname, 'fixtures', 'unguarded-change.ts'));
      guarded = await bundle(path.join(__dirname, 'fixtures', 'patched-change.ts'));
    });

    it('fails replay of every captured pipeline history with the SDK determinism error when unguarded', async () => {
      expect(pipelineHistories.length).toBeGreaterThan(0);
      const results = await replayAll(options(unguarded, keyring), pipelineHistories);
      expect(results).toHaveLength(pipelineHistories.length);
      for (const r of results) {
        expect(r.error, r.file).toBeInstanceOf(DeterminismViolationError);
        // Core names the mismatch: the new timer against the event history recorded in its place,
        // or, in runs whose first recorded command is the signed-approvals patch marker, that marker
        // with no patched() call to match it (the timer took its place).
        expect(r.error?.message, r.file).toMatch(/Nondeterminism error: (Timer machine does not handle this event|Non-deprecated patch marker encountered for change signed-approvals)/);
      }
    });

    it('replays them all cleanly when the change is guarded with patched()', async () => {
      const results = await replayAll(options(guarded, keyring), pipelineHistories);
      expect(results.filter((r) => r.error).map((r) => `${r.file}: ${r.error?.message}`)).toEqual([]);
      expect(results).toHaveLength(pipelineHistories.length);
    });
  });
});

import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { installRuntime } from '../../src/dev/dev-environment';
import { simulateTuning, type SimInput, type SimResult } from './fixtures/simulate';
import type { tuningLoop } from './fixtures/tuning-workflow';
import '../stack-context';

const WORKFLOWS_PATH = path.join(__dirname, 'fixtures', 'tuning-workflow.ts');

const SPACE = {
  learningRate: { loguniform: [0.001, 0.5] },
  epochs: { int: [10, 30] },
  trainer: { choice: ['logistic-regression', 'gradient-boosting'] },
};

const CASES: Array<[string, Record<string, unknown>]> = [
  ['grid', { strategy: 'grid', trials: 24, space: { ...SPACE, learningRate: { loguniform: [0.001, 0.5], steps: 3 } } }],
  ['random', { strategy: 'random', trials: 24 }],
  ['tpe', { strategy: 'tpe', trials: 24, tpe: { startupTrials: 6 } }],
  ['asha', { strategy: 'asha', trials: 24, asha: { minResource: 2, reductionFactor: 3 } }],
  ['tpe + asha', { strategy: 'tpe', trials: 24, asha: { minResource: 2 } }],
];

function runLocally(input: SimInput): SimResult {
  const out = simulateTuning(input);
  if (!('result' in out)) throw new Error('expected one run without breaks');
  return out.result;
}

/**
 * The tuning module inside the real workflow sandbox: the worker bundles it (webpack fails on any
 * Node built-in or other disallowed module), each strategy runs through continue-as-new every 8
 * suggestions with its state and history as plain JSON, the results equal a run without breaks in
 * plain Node, and the recorded histories replay without nondeterminism errors.
 */
describe('tuning in the workflow sandbox', () => {
  let connection: NativeConnection;
  let clientConnection: Connection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `tuning-sandbox-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    installRuntime();
    const stack = inject('stack');
    connection = await NativeConnection.connect({ address: stack.temporalAddress });
    clientConnection = await Connection.connect({ address: stack.temporalAddress });
    client = new Client({ connection: clientConnection, namespace: stack.namespace });
    worker = await Worker.create({ connection, namespace: stack.namespace, taskQueue, workflowsPath: WORKFLOWS_PATH });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await clientConnection?.close();
    await connection?.close();
  });

  it.each(CASES)('%s: same results through continue-as-new as without breaks, and replays cleanly', async (_name, tune) => {
    const input: SimInput = { tune: { seed: 11, concurrency: 4, space: SPACE, ...tune }, breakEvery: 8 };
    const expected = runLocally({ tune: input.tune });
    expect(expected.history).toHaveLength(24);

    const workflowId = `tuning-sandbox-${randomUUID()}`;
    const handle = await client.workflow.start<typeof tuningLoop>('tuningLoop', { taskQueue, workflowId, args: [input] });
    const result = await handle.result();
    expect(result.runs).toBe(3);
    expect({ ...result, runs: 1 }).toEqual(expected);

    for (const runId of [handle.firstExecutionRunId, undefined]) {
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH, replayName: `${workflowId}-${runId ?? 'last'}` }, history);
    }
  });
});

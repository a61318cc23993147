import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStatusSchema } from '../../src/client/run-status';
import { runCliAsync } from '../helpers/cli';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';

describe('mlcycle run / status / models from the command line', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let cliEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 1000 });
    cliEnv = env.cliEnv;
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  it('run --wait --json exits 0 with the outcome; status --json has the documented shape', async () => {
    const spec = await ws.spec('cli.yaml', (d) => {
      d.name = 'churn-cli';
    });
    const run = await runCliAsync(['run', spec, '--wait', '--json'], cliEnv);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { workflowId: string; status: string; model: { name: string; version: number } };
    expect(out).toMatchObject({ status: 'completed', model: { name: 'churn-cli', version: 1 } });

    const status = await runCliAsync(['status', out.workflowId, '--json'], cliEnv);
    expect(status.code).toBe(0);
    const parsed = RunStatusSchema.parse(JSON.parse(status.stdout));
    expect(parsed).toMatchObject({ workflowId: out.workflowId, status: 'completed', stage: 'done', model: { name: 'churn-cli', version: 1 } });
    expect(parsed.steps.map((s) => s.name)).toEqual(['ingest', 'validate', 'train', 'evaluate', 'register']);

    // Runs are findable in the Web UI by model and stage (visibility API, as the UI queries it).
    const found: string[] = [];
    for await (const wf of env.client.temporal.workflow.list({ query: `MlcycleModel = "churn-cli" AND MlcycleStage = "done"` })) found.push(wf.workflowId);
    expect(found).toContain(out.workflowId);

    const show = await runCliAsync(['models', 'show', 'churn-cli', '--json'], cliEnv);
    expect(show.code).toBe(0);
    const model = JSON.parse(show.stdout) as { versions: Array<{ version: number; lineage: { workflowId: string } }> };
    expect(model.versions.map((v) => [v.version, v.lineage.workflowId])).toEqual([[1, out.workflowId]]);
    const list = await runCliAsync(['models', 'list', '--json'], cliEnv);
    expect(JSON.parse(list.stdout)).toContainEqual(expect.objectContaining({ name: 'churn-cli', latestVersion: 1 }));
  }, 180_000);

  it('run without --wait prints {"workflowId"} at once; --wait exits 1 when the run fails', async () => {
    const spec = await ws.spec('cli-fail.yaml', (d) => {
      d.name = 'churn-cli-fail';
      d.evaluate.thresholds = { auc: 0.9999 };
    });
    const started = await runCliAsync(['run', spec, '--json'], cliEnv);
    expect(started.code).toBe(0);
    expect(Object.keys(JSON.parse(started.stdout))).toEqual(['workflowId']);

    const failed = await runCliAsync(['run', spec, '--wait', '--json'], cliEnv);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'failed', error: expect.stringContaining('threshold 0.9999') });
  }, 180_000);

  it('models show of an unknown model exits non-zero naming it', async () => {
    const r = await runCliAsync(['models', 'show', 'nope'], cliEnv);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"nope"');
  });
});

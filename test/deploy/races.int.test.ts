import type { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { promote, rollback } from '../../src/deploy/promotion';
import { createModelRegistry, type ModelRegistry } from '../../src/registry/model-registry';
import { deploymentRecordPrefix, parseDeploymentRecord, readDeploymentRecord } from '../../src/serving/deployment-record';
import { createPredictionServer, type PredictionServer } from '../../src/serving/prediction-server';
import { createMonitorActivities, retrainClaimPrefix } from '../../activities/monitor';
import { deploymentOwnerId } from '../../workflows/deployment';
import { registerApprovers } from '../helpers/approvers';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';
import { startTraffic, type Traffic } from '../helpers/traffic';

/**
 * Runs that overlap: each race is provoked for real (concurrent pipelines on real workers, or
 * concurrent calls against the real MinIO) and judged by what was stored, state by state.
 */


async function recordStates(env: TestEnv, model: string, alias: string): Promise<number[]> {
  const prefix = deploymentRecordPrefix(model, alias);
  const keys = (await env.store.listNamed(prefix)).sort();
  const out: number[] = [];
  for (const key of keys) out.push(parseDeploymentRecord(JSON.parse((await env.store.getNamed(key))!.toString('utf8'))).stable.version);
  return out;
}

/** Every version the alias held, in order (from the registry's own alias history). */
async function aliasHolders(env: TestEnv, model: string, alias: string): Promise<number[]> {
  const prefix = `registry/${model}/aliases/${alias}/`;
  const keys = (await env.store.listNamed(prefix)).sort();
  const last = JSON.parse((await env.store.getNamed(keys[keys.length - 1]!))!.toString('utf8')) as { history: { to: number }[] };
  return last.history.map((h) => h.to);
}

/** `sub` appears in `seq` in order (not necessarily contiguously). */
function isSubsequence(sub: number[], seq: number[]): boolean {
  let i = 0;
  for (const x of seq) if (i < sub.length && sub[i] === x) i++;
  return i === sub.length;
}

describe('races between overlapping runs', () => {
  let env: TestEnv;
  let approverKeys: Map<string, KeyObject>;
  let ws: SpecWorkspace;
  let registry: ModelRegistry;
  let server: PredictionServer;
  let url: string;
  let traffic: Traffic | undefined;

  beforeAll(async () => {
    env = await startTestEnv();
    // Votes are signed: alice (the spec's approver) has a registered key.
    approverKeys = await registerApprovers(env.store, ['alice']);
    ws = await SpecWorkspace.create({ rows: 600 });
    registry = createModelRegistry({ store: env.store });
    server = createPredictionServer({ store: env.store, registry, model: 'race-m', refreshMs: 200, log: () => undefined });
    url = (await server.start()).url;
    traffic = startTraffic(url, 10);
  });
  afterAll(async () => {
    await traffic?.stop();
    await server?.stop();
    await env?.close();
    await ws?.remove();
  });

  const specFor = (file: string, epochs: number, deploy: Record<string, unknown>) =>
    ws.spec(file, (d) => {
      d.name = 'race-m';
      d.train.params.epochs = epochs;
      delete d.evaluate.compareToChampion;
      d.deploy = deploy;
    });

  it('two pipelines of one model deploying at once (canary and direct): one deployment in charge at a time, the record follows the alias', async () => {
    const first = await waitForRun(env.client, (await env.client.startPipeline(await specFor('v1.yaml', 10, { alias: 'production', strategy: 'direct' }), { cache: false })).workflowId);
    expect(first.status).toBe('completed');

    // Both pipelines start together; the direct one waits at an approval gate that is opened
    // while the canary bakes, so its deployment request lands while the canary is in charge.
    const canary = { alias: 'production', strategy: 'canary', canary: { percent: 50, bake: '12s', rollbackIf: { errorRate: 0.5, p99LatencyMs: 10_000 }, serviceUrl: url, minRequests: 3 } };
    const directSpec = await ws.spec('direct.yaml', (d) => {
      d.name = 'race-m';
      d.train.params.epochs = 14;
      delete d.evaluate.compareToChampion;
      d.approval = { approvers: ['alice'], required: 1, timeout: '1h' };
      d.deploy = { alias: 'production', strategy: 'direct' };
    });
    const [a, b] = await Promise.all([
      env.client.startPipeline(await specFor('canary.yaml', 12, canary), { cache: false }),
      env.client.startPipeline(directSpec, { cache: false }),
    ]);
    await expect
      .poll(async () => {
        const [sa, sb] = await Promise.all([env.client.status(a.workflowId), env.client.status(b.workflowId)]);
        return sa.steps.find((s) => s.name === 'deploy')?.state === 'running' && sb.status === 'awaiting_approval';
      }, { timeout: 120_000, interval: 250 })
      .toBe(true);
    await env.client.decide(b.workflowId, { decision: 'approve', approver: 'alice' }, approverKeys.get('alice')!);
    const summaries = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const sb = await env.client.status(b.workflowId).catch(() => undefined);
        const summary = sb?.steps.find((s) => s.name === 'deploy')?.summary;
        if (summary) summaries.add(summary);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const [ra, rb] = await Promise.all([waitForRun(env.client, a.workflowId), waitForRun(env.client, b.workflowId)]);
    sampling = false;
    await sampler;
    expect([ra.status, rb.status, ra.error, rb.error]).toEqual(['completed', 'completed', undefined, undefined]);
    // The direct deployment was refused while the canary was in charge, said so, and waited.
    const owner0 = deploymentOwnerId('race-m', 'production', `${env.queuePrefix}cpu`);
    expect([...summaries].some((s) => s.startsWith(`waiting for ${owner0}`))).toBe(true);
    const history = await env.client.temporal.workflow.getHandle(b.workflowId).fetchHistory();
    expect(history.events?.some((e) => e.startChildWorkflowExecutionFailedEventAttributes?.workflowId === owner0)).toBe(true);
    // Canary promoted first, then the direct deployment moved the alias on from there.
    expect(ra.steps.find((s) => s.name === 'deploy')?.summary).toContain('canary baked 12s clean');

    // One owner: every deployment of the alias ran under the same id, and no two runs overlapped.
    const owner = deploymentOwnerId('race-m', 'production', `${env.queuePrefix}cpu`);
    const runs: { start: number; close: number }[] = [];
    for await (const w of env.client.temporal.workflow.list({ query: `WorkflowId = '${owner}'` })) {
      runs.push({ start: w.startTime.getTime(), close: w.closeTime?.getTime() ?? Number.POSITIVE_INFINITY });
    }
    expect(runs).toHaveLength(3);
    runs.sort((x, y) => x.start - y.start);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.close);

    // Every record state named a version the alias held, in the alias's order; the last one is the holder now.
    const holders = await aliasHolders(env, 'race-m', 'production');
    const states = await recordStates(env, 'race-m', 'production');
    expect(holders).toEqual([first.model!.version, ra.model!.version, rb.model!.version]);
    expect(isSubsequence(states.filter((v, i) => states[i - 1] !== v), holders)).toBe(true);
    const record = await readDeploymentRecord(env.store, 'race-m', 'production');
    expect(record).toMatchObject({ stable: { version: holders[holders.length - 1] } });
    expect(record?.canary).toBeUndefined();
    expect((await registry.resolveAlias('race-m', 'production'))?.version).toBe(holders[holders.length - 1]);
    await expect.poll(() => server.current(), { timeout: 10_000 }).toEqual({ stable: holders[holders.length - 1] });
  }, 240_000);

  it('a promotion retried after a manual rollback does not move routing', async () => {
    const versions = (await registry.listVersions('race-m')).map((v) => v.version);
    expect(versions.length).toBeGreaterThanOrEqual(3);
    const [older, newer] = versions.slice(-2) as [number, number];
    await promote(env.store, registry, { model: 'race-m', alias: 'retry', version: older, actor: 'test', reason: 'base' });
    const key = 'decision-42/promote/retry';
    expect(await promote(env.store, registry, { model: 'race-m', alias: 'retry', version: newer, actor: 'deployment', reason: 'approved', idempotencyKey: key })).toMatchObject({ moved: true, serving: newer });
    expect((await readDeploymentRecord(env.store, 'race-m', 'retry'))?.stable.version).toBe(newer);

    await rollback(env.store, registry, { model: 'race-m', alias: 'retry', actor: 'operator', reason: 'bad model' });
    expect((await readDeploymentRecord(env.store, 'race-m', 'retry'))?.stable.version).toBe(older);
    const before = (await env.store.listNamed(deploymentRecordPrefix('race-m', 'retry'))).length;

    // The same decision delivered again (an activity retry): neither the alias nor routing moves.
    expect(await promote(env.store, registry, { model: 'race-m', alias: 'retry', version: newer, actor: 'deployment', reason: 'approved', idempotencyKey: key })).toMatchObject({ moved: false, serving: older });
    expect((await registry.resolveAlias('race-m', 'retry'))?.version).toBe(older);
    expect((await readDeploymentRecord(env.store, 'race-m', 'retry'))?.stable.version).toBe(older);
    expect((await env.store.listNamed(deploymentRecordPrefix('race-m', 'retry'))).length).toBe(before);
  });

  it('concurrent promotions and rollbacks of one alias leave the record on the alias holder', async () => {
    const versions = (await registry.listVersions('race-m')).map((v) => v.version);
    await promote(env.store, registry, { model: 'race-m', alias: 'churny', version: versions[0]!, actor: 'test', reason: 'base' });
    const ops = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 2
        ? rollback(env.store, registry, { model: 'race-m', alias: 'churny', actor: 'op', reason: `rb ${i}` }).catch(() => undefined)
        : promote(env.store, registry, { model: 'race-m', alias: 'churny', version: versions[i % versions.length]!, actor: 'op', reason: `p ${i}` }),
    );
    await Promise.all(ops);
    const holder = (await registry.resolveAlias('race-m', 'churny'))?.version;
    expect((await readDeploymentRecord(env.store, 'race-m', 'churny'))?.stable.version).toBe(holder);
    const states = await recordStates(env, 'race-m', 'churny');
    expect(isSubsequence(states.filter((v, i) => states[i - 1] !== v), await aliasHolders(env, 'race-m', 'churny'))).toBe(true);
  });

  it('monitor checks claiming a retrain at once inside the cooldown: exactly one wins', async () => {
    const acts = createMonitorActivities({ store: env.store, s3: undefined as never, workDir: '/tmp', queue: 'cpu', gpuDevices: [] });
    const nowIso = new Date().toISOString();
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => acts.claimRetrain({ model: 'race-claims', cooldown: '1h', checkId: `check-${i}`, nowIso })),
    );
    expect(claims.filter((c) => c.allowed)).toHaveLength(1);
    const refused = claims.filter((c) => !c.allowed);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect(r.reason).toMatch(/^cooldown: last retrain \d+s ago \(cooldown 1h, by check-\d\)$/);
    expect(await env.store.listNamed(retrainClaimPrefix('race-claims'))).toHaveLength(1);

    // The winner's retried claim stands; after the cooldown the next check may claim again.
    const winner = `check-${claims.findIndex((c) => c.allowed)}`;
    expect(await acts.claimRetrain({ model: 'race-claims', cooldown: '1h', checkId: winner, nowIso })).toEqual({ allowed: true, reason: 'claimed by this check' });
    const later = new Date(Date.parse(nowIso) + 3_600_001).toISOString();
    const next = await Promise.all([0, 1, 2].map((i) => acts.claimRetrain({ model: 'race-claims', cooldown: '1h', checkId: `later-${i}`, nowIso: later })));
    expect(next.filter((c) => c.allowed)).toHaveLength(1);
  });
});

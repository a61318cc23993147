import autocannon from 'autocannon';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MlcycleError } from '../../src/errors';
import { createModelRegistry, type ModelRegistry } from '../../src/registry/model-registry';
import {
  deploymentRecordPrefix,
  readDeploymentRecord,
  writeDeploymentRecord,
} from '../../src/serving/deployment-record';
import { stateKey } from '../../src/storage/numbered-states';
import { predictionLogPrefix, readPredictionLogs } from '../../src/serving/prediction-log';
import { createPredictionServer, type PredictionServer, type PredictionServerOptions } from '../../src/serving/prediction-server';
import { predict, type ModelArtifact } from '../../src/training/model-artifact';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { registerModel, requestRows, trainChurnModel } from './fixtures';

const MODEL = 'churn-serve';

interface PredictBody {
  model: string;
  version: number;
  predictions: Array<{ probability: number; label: boolean }>;
}

async function post(url: string, body: unknown, raw = false): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

async function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The value of one sample line of Prometheus text, e.g. `mlcycle_model_version{role="stable"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('prediction server on the real store', () => {
  let env: TestEnv;
  let registry: ModelRegistry;
  const models: Record<number, ModelArtifact> = {};
  const servers: PredictionServer[] = [];
  let logs: string[] = [];

  async function serve(opts: Partial<PredictionServerOptions> = {}): Promise<{ server: PredictionServer; url: string }> {
    const server = createPredictionServer({ store: env.store, registry, model: MODEL, refreshMs: 100, log: (l) => logs.push(l), ...opts });
    servers.push(server);
    const { url } = await server.start();
    return { server, url };
  }

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    registry = createModelRegistry({ store: env.store });
    const artifacts = await Promise.all([
      trainChurnModel({ params: { epochs: 3, learningRate: 0.05 }, seed: 1 }),
      trainChurnModel({ params: { epochs: 40 }, seed: 2 }),
      trainChurnModel({ trainer: 'gradient-boosting', params: { epochs: 15, maxDepth: 3 }, seed: 3 }),
    ]);
    for (const [i, artifact] of artifacts.entries()) {
      const version = await registerModel(env.store, registry, MODEL, artifact, `serve-v${i + 1}`);
      expect(version).toBe(i + 1);
      models[version] = artifact;
    }
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    logs = [];
  });
  afterAll(async () => {
    await env?.close();
  });

  describe('one served version', () => {
    let url: string;

    beforeAll(async () => {
      await registry.setAlias(MODEL, 'production', 1, { actor: 'test' });
      const server = createPredictionServer({ store: env.store, registry, model: MODEL, log: (l) => logs.push(l) });
      ({ url } = await server.start());
      // Not in `servers`: it lives for this describe block.
      return () => server.stop();
    });

    it('answers probabilities and labels from the registered model, and says which version served', async () => {
      const rows = requestRows(5);
      const res = await post(url, { rows });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-model-version')).toBe('1');
      const body = res.body as PredictBody;
      expect(body.model).toBe(MODEL);
      expect(body.version).toBe(1);
      const expected = predict(models[1]!, rows);
      expect(body.predictions).toHaveLength(5);
      body.predictions.forEach((p, i) => {
        expect(p.probability).toBeCloseTo(expected[i]!, 12);
        expect(p.label).toBe(p.probability >= 0.5);
      });

      // Null is an unknown value (imputed as in training); unknown categories encode as none.
      const sparse = { ...rows[0]!, tenure_months: null, autopay: null, plan: 'platinum' };
      const res2 = await post(url, { rows: [sparse] });
      expect(res2.status).toBe(200);
      expect((res2.body as PredictBody).predictions[0]!.probability).toBeCloseTo(predict(models[1]!, [sparse])[0]!, 12);

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', model: MODEL, alias: 'production', stable: 1, canary: null });
    });

    it('answers 400 naming the field for a wrong type, a missing column, no rows; and keeps serving', async () => {
      const rows = requestRows(5);
      const wrongType = rows.map((r, i) => (i === 3 ? { ...r, tenure_months: '12' } : r));
      let res = await post(url, { rows: wrongType });
      expect(res.status).toBe(400);
      expect(res.body.issues).toEqual([{ path: 'rows.3.tenure_months', message: expect.stringContaining('expected a finite number or null') }]);
      expect(res.body.error).toContain('rows.3.tenure_months');

      const { plan: _plan, ...noPlan } = rows[1]!;
      res = await post(url, { rows: [rows[0], noPlan] });
      expect(res.status).toBe(400);
      expect(res.body.issues).toEqual([{ path: 'rows.1.plan', message: expect.stringContaining('missing') }]);

      res = await post(url, { rows: [{ ...rows[0], autopay: 'yes' }] });
      expect(res.status).toBe(400);
      expect(res.body.issues[0].path).toBe('rows.0.autopay');

      res = await post(url, { rows: [] });
      expect(res.status).toBe(400);
      expect(res.body.issues).toEqual([{ path: 'rows', message: 'expected at least 1 row' }]);

      res = await post(url, { data: rows });
      expect(res.status).toBe(400);
      expect(res.body.issues[0].path).toBe('rows');

      res = await post(url, '{"rows": [', true);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: expect.any(String), issues: [] });

      // Many bad rows: the answer stays bounded.
      res = await post(url, { rows: Array.from({ length: 200 }, () => ({ ...rows[0], region: 7 })) });
      expect(res.status).toBe(400);
      expect(res.body.issues).toHaveLength(50);
      expect(res.body.issuesOmitted).toBe(150);

      res = await post(url, { rows });
      expect(res.status).toBe(200);
      expect(res.body.predictions).toHaveLength(5);
    });

    it('exports request, error, latency and version metrics in Prometheus text', async () => {
      await post(url, { rows: requestRows(2) });
      await post(url, { rows: [] });
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(sample(text, 'mlcycle_predict_requests_total{version="1",status="200"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'mlcycle_predict_requests_total{version="1",status="400"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'mlcycle_predict_errors_total{version="1"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'mlcycle_predict_latency_seconds_bucket{le="0.005",version="1"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'mlcycle_predict_latency_seconds_count{version="1"}')).toBeGreaterThanOrEqual(2);
      expect(sample(text, 'mlcycle_model_version{role="stable"}')).toBe(1);
      expect(text).not.toContain('mlcycle_model_version{role="canary"}');
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toContain('nodejs_eventloop_lag_seconds');
    });
  });

  it('out-of-range inputs: refused by default (1e200), clipped or allowed when configured; a token guards /predict and /metrics', async () => {
    await registry.setAlias(MODEL, 'production', 1, { actor: 'test' });
    const row = { ...requestRows(1)[0]!, monthly_charges: 1e200 };
    const refused = await serve();
    await until(async () => refused.server.current().stable === 1, 10_000, 'loaded');
    const r = await post(refused.url, { rows: [row] });
    expect(r.status).toBe(400);
    expect(r.body.issues).toEqual([{ path: 'rows.0.monthly_charges', message: expect.stringContaining('outside the range this model accepts') }]);
    const clipped = await serve({ outOfRange: 'clip' });
    await until(async () => clipped.server.current().stable === 1, 10_000, 'loaded');
    const c = await post(clipped.url, { rows: [row] });
    expect(c.status).toBe(200);
    expect(Number.isFinite((c.body as PredictBody).predictions[0]!.probability)).toBe(true);
    const allowed = await serve({ outOfRange: 'allow' });
    await until(async () => allowed.server.current().stable === 1, 10_000, 'loaded');
    expect((await post(allowed.url, { rows: [{ ...row, monthly_charges: 5e5 }] })).status).toBe(200);

    const token = 'serve-token-0123456789abcdef';
    const guarded = await serve({ token });
    await until(async () => guarded.server.current().stable === 1, 10_000, 'loaded');
    expect((await post(guarded.url, { rows: requestRows(1) })).status).toBe(401);
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200);
    const ok = await fetch(`${guarded.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ rows: requestRows(1) }) });
    expect(ok.status).toBe(200);
  });

  it('answers 503 until a version is deployed, then serves it', async () => {
    const { server, url } = await serve({ alias: 'later' });
    expect(server.current()).toEqual({ stable: null });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'loading', stable: null });
    expect((await post(url, { rows: requestRows(1) })).status).toBe(503);

    await registry.setAlias(MODEL, 'later', 2, { actor: 'test' });
    await until(async () => (await fetch(`${url}/healthz`)).status === 200, 5000, 'the model to load');
    const res = await post(url, { rows: requestRows(1) });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(2);
  });

  it('follows an alias move within a couple of refresh intervals', async () => {
    await registry.setAlias(MODEL, 'moving', 1, { actor: 'test' });
    const { server, url } = await serve({ alias: 'moving', refreshMs: 250 });
    expect((await post(url, { rows: requestRows(1) })).body.version).toBe(1);

    await registry.setAlias(MODEL, 'moving', 2, { actor: 'test' });
    const moved = Date.now();
    await until(async () => (await post(url, { rows: requestRows(1) })).body.version === 2, 5000, 'version 2 to serve');
    const took = Date.now() - moved;
    // Two intervals plus reading the alias and downloading the model from the local store.
    expect(took).toBeLessThan(2 * 250 + 1000);
    expect(server.current()).toEqual({ stable: 2 });
    expect(logs.some((l) => l.includes('now serving v2 (was v1)'))).toBe(true);
  });

  it('swaps models under load without a single failed or dropped request', async () => {
    await registry.setAlias(MODEL, 'load', 1, { actor: 'test' });
    const { server, url } = await serve({ alias: 'load', refreshMs: 100 });
    const served = new Map<number, number>();
    let badBodies = 0;
    const body = JSON.stringify({ rows: requestRows(3) });

    // Load runs until both moves have been picked up (and a little longer), whatever the machine's speed.
    let instance: autocannon.Instance | undefined;
    const finished = new Promise<autocannon.Result>((resolve, reject) => {
      instance = autocannon(
        {
          url,
          connections: 8,
          duration: 30,
          requests: [
            {
              method: 'POST',
              path: '/predict',
              headers: { 'content-type': 'application/json' },
              body,
              onResponse: (status, text) => {
                try {
                  const parsed = JSON.parse(text) as PredictBody;
                  if (status !== 200 || parsed.predictions.length !== 3) badBodies++;
                  served.set(parsed.version, (served.get(parsed.version) ?? 0) + 1);
                } catch {
                  badBodies++;
                }
              },
            },
          ],
        },
        (err: Error | null, res) => (err ? reject(err) : resolve(res)),
      );
    });
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await pause(700);
    for (const version of [2, 3]) {
      await registry.setAlias(MODEL, 'load', version, { actor: 'test' });
      await until(async () => server.current().stable === version || undefined, 10_000, `version ${version} under load`);
      await pause(700);
    }
    instance!.stop();
    const result = await finished;

    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result.resets).toBe(0);
    expect(badBodies).toBe(0);
    expect(result['2xx']).toBeGreaterThan(100);
    // Every version served part of the run, in order, and the last one is serving now.
    expect([...served.keys()].sort()).toEqual([1, 2, 3]);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).not.toMatch(/mlcycle_predict_errors_total\{/);
    expect(text).not.toMatch(/status="(4|5)\d\d"/);
  }, 30_000);

  it('splits traffic with a canary deployment record, which takes precedence over the alias', async () => {
    await registry.setAlias(MODEL, 'canary', 3, { actor: 'test' });
    await writeDeploymentRecord(env.store, {
      model: MODEL,
      alias: 'canary',
      stable: { version: 1 },
      canary: { version: 2, percent: 50 },
      reason: 'test rollout',
    });
    const { server, url } = await serve({ alias: 'canary' });
    expect(server.current()).toEqual({ stable: 1, canary: { version: 2, percent: 50 } });
    const health = (await (await fetch(`${url}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ stable: 1, canary: { version: 2, percent: 50 } });

    const counts = new Map<number, number>();
    for (let i = 0; i < 100; i++) {
      const rows = requestRows(1, i);
      const res = await post(url, { rows });
      expect(res.status).toBe(200);
      const version = (res.body as PredictBody).version;
      counts.set(version, (counts.get(version) ?? 0) + 1);
      // Whoever served it, the answer is that version's own prediction.
      expect(res.body.predictions[0].probability).toBeCloseTo(predict(models[version]!, rows)[0]!, 12);
    }
    expect(counts.get(1)).toBeGreaterThanOrEqual(40);
    expect(counts.get(2)).toBeGreaterThanOrEqual(40);
    expect((counts.get(1) ?? 0) + (counts.get(2) ?? 0)).toBe(100);
    let text = await (await fetch(`${url}/metrics`)).text();
    expect(sample(text, 'mlcycle_model_version{role="canary"}')).toBe(2);
    expect(sample(text, 'mlcycle_canary_percent')).toBe(50);

    // Promotion: the record now names 2 as stable, no canary.
    await writeDeploymentRecord(env.store, { model: MODEL, alias: 'canary', stable: { version: 2 }, reason: 'promoted' });
    await until(async () => (server.current().canary === undefined && server.current().stable === 2) || undefined, 5000, 'promotion');
    for (let i = 0; i < 5; i++) expect((await post(url, { rows: requestRows(1) })).body.version).toBe(2);
    text = await (await fetch(`${url}/metrics`)).text();
    expect(text).not.toContain('mlcycle_model_version{role="canary"}');
    expect(sample(text, 'mlcycle_canary_percent')).toBe(0);
  });

  it('keeps serving the old model when a new one cannot be loaded, and logs why', async () => {
    const broken = await env.store.putJson({ format: 'not-a-model' });
    const { version: bad } = await registry.register({
      name: 'churn-broken',
      modelUri: broken.uri,
      metrics: {},
      reports: {},
      idempotencyKey: 'broken',
      lineage: {
        datasetSha256: 'a'.repeat(64),
        datasetUri: 's3://x/y',
        manifestUri: 's3://x/m',
        codeVersion: 't',
        trainer: 'logistic-regression',
        params: {},
        workflowId: 'w',
        runId: 'r',
      },
    });
    expect(bad.version).toBe(1);
    await registry.setAlias(MODEL, 'fragile', 1, { actor: 'test' });
    const { server, url } = await serve({ alias: 'fragile' });
    // A record naming a version that does not exist, then one whose artifact is not a model.
    await writeDeploymentRecord(env.store, { model: MODEL, alias: 'fragile', stable: { version: 99 } });
    await until(async () => logs.some((l) => l.includes('has no version 99')) || undefined, 5000, 'the load failure');
    // A damaged latest state (written behind the product's back).
    const states = await env.store.listNamed(deploymentRecordPrefix(MODEL, 'fragile'));
    await env.store.putNamed(stateKey(deploymentRecordPrefix(MODEL, 'fragile'), states.length + 1), '{"model": "churn-serve", "alias": "fragile"}');
    await until(async () => logs.some((l) => l.includes('is malformed')) || undefined, 5000, 'the malformed record');
    expect(logs.filter((l) => l.includes('is malformed'))).toHaveLength(1); // once, not every refresh
    expect(server.current()).toEqual({ stable: 1 });
    expect((await post(url, { rows: requestRows(1) })).body.version).toBe(1);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await expect(readDeploymentRecord(env.store, MODEL, 'fragile')).rejects.toMatchObject({ code: 'DATA_INVALID' });
    await writeDeploymentRecord(env.store, { model: MODEL, alias: 'fragile', stable: { version: 3 } });
    await until(async () => server.current().stable === 3 || undefined, 5000, 'version 3');
  });

  it('writes every scored row with its inputs as JSONL, by size, by time and on stop', async () => {
    await registry.setAlias(MODEL, 'logged', 2, { actor: 'test' });
    const before = new Date();
    // Size: batches of 10 rows are written at once; time: the rest after 300 ms.
    const { url } = await serve({ alias: 'logged', logBatchRows: 10, logFlushMs: 300 });
    const tag = `t-${Date.now()}`;
    const rows = requestRows(25).map((r) => ({ ...r, request_tag: tag }));
    const res = await post(url, { rows });
    expect(res.status).toBe(200);
    const mine = async () => (await readPredictionLogs(env.store, MODEL, { since: before })).filter((e) => e.inputs['request_tag'] === tag);
    const logged = await until(async () => {
      const entries = await mine();
      return entries.length === 25 ? entries : undefined;
    }, 5000, 'the prediction logs');
    logged.sort((a, b) => String(a.inputs['customer_id']).localeCompare(String(b.inputs['customer_id'])));
    logged.forEach((entry, i) => {
      expect(entry).toEqual({
        ts: expect.any(String),
        model: MODEL,
        version: 2,
        inputs: rows[i],
        probability: (res.body as PredictBody).predictions[i]!.probability,
      });
      expect(Date.parse(entry.ts)).toBeGreaterThanOrEqual(before.getTime());
    });
    const keys = await env.store.listNamed(predictionLogPrefix(MODEL));
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const key of keys) expect(key).toMatch(/^predictions\/churn-serve\/\d{4}-\d{2}-\d{2}\/\d{2}\/\d{8}T\d{9}Z-[0-9a-f]{8}\.jsonl$/);
    const first = (await env.store.getNamed(keys[0]!))!.toString();
    expect(first.endsWith('\n')).toBe(true);
    for (const line of first.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();

    // A long flush interval: nothing is written until stop, which writes it all.
    const { server: quiet, url: quietUrl } = await serve({ alias: 'logged', logFlushMs: 60_000 });
    const quietTag = `q-${Date.now()}`;
    await post(quietUrl, { rows: requestRows(4).map((r) => ({ ...r, request_tag: quietTag })) });
    const quietRows = async () => (await readPredictionLogs(env.store, MODEL, { since: before })).filter((e) => e.inputs['request_tag'] === quietTag);
    await new Promise((r) => setTimeout(r, 300));
    expect(await quietRows()).toHaveLength(0);
    await quiet.stop();
    expect(await quietRows()).toHaveLength(4);
  });

  it('validates deployment records on write and read', async () => {
    await expect(
      writeDeploymentRecord(env.store, { model: MODEL, alias: 'x', stable: { version: 1 }, canary: { version: 1, percent: 10 } }),
    ).rejects.toThrow(/canary\.version: the canary must be a different version/);
    await expect(
      writeDeploymentRecord(env.store, { model: MODEL, alias: 'x', stable: { version: 1 }, canary: { version: 2, percent: 150 } }),
    ).rejects.toThrow(/canary\.percent: must be <= 100/);
    expect(await readDeploymentRecord(env.store, MODEL, 'x')).toBeUndefined();
    const written = await writeDeploymentRecord(env.store, { model: MODEL, alias: 'x', stable: { version: 1 } });
    expect(await readDeploymentRecord(env.store, MODEL, 'x')).toEqual(written);
    expect(() => createPredictionServer({ store: env.store, registry, model: 'Bad Name' })).toThrow(MlcycleError);
  });
});

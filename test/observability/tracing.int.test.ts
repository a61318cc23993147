import http from 'node:http';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { processTracing } from '../../src/observability/tracing';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { SpecWorkspace } from '../helpers/specs';

interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  service?: string;
}

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

const valueOf = (v: AnyValue) => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const attributesOf = (kvs: KeyValue[] = []) => Object.fromEntries(kvs.map((kv) => [kv.key, valueOf(kv.value)]));

/** A collector's OTLP/HTTP trace endpoint, JSON encoding, keeping what it receives. */
async function startOtlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; contentTypes: Set<string>; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const contentTypes = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.add(String(req.headers['content-type']));
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      const request = JSON.parse(body.toString('utf8')) as {
        resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ spans?: Array<Omit<ReceivedSpan, 'attributes'> & { attributes?: KeyValue[] }> }> }>;
      };
      for (const rs of request.resourceSpans ?? []) {
        const service = attributesOf(rs.resource?.attributes)['service.name'] as string | undefined;
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({ name: s.name, traceId: s.traceId, spanId: s.spanId, ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}), attributes: attributesOf(s.attributes), service });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, spans, contentTypes, close: () => new Promise((r) => server.close(() => r())) };
}

describe('tracing with MLCYCLE_OTEL_ENDPOINT', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // Read once, on first use, by the workers and the client startTestEnv creates; this file runs in
    // its own process, so no other test sees it.
    process.env.MLCYCLE_OTEL_ENDPOINT = receiver.url;
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 800 });
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
    await receiver?.close();
  });

  it('connects the client start, the workflow run and every activity in one trace', async () => {
    const spec = await ws.spec('traced.yaml', (d) => {
      d.name = 'churn-traced';
      d.evaluate.thresholds = {};
    });
    const { workflowId, runId } = await env.client.startPipeline(spec);
    expect((await waitForRun(env.client, workflowId)).status).toBe('completed');

    const tracing = processTracing();
    expect(tracing?.endpoint).toBe(receiver.url);
    const activities = ['ingestDataset', 'validateDataset', 'trainModel', 'evaluateModel', 'registerModel'];
    const deadline = Date.now() + 60_000;
    const startSpan = () => receiver.spans.find((s) => s.name === 'StartWorkflow:trainingPipeline' && s.attributes.temporalWorkflowId === workflowId);
    const inTrace = () => receiver.spans.filter((s) => s.traceId === startSpan()?.traceId);
    const complete = () => ['RunWorkflow:trainingPipeline', ...activities.map((a) => `RunActivity:${a}`)].every((n) => inTrace().some((s) => s.name === n));
    while (!complete() && Date.now() < deadline) {
      await tracing?.flush();
      await new Promise((r) => setTimeout(r, 250));
    }

    const start = startSpan();
    expect(start, `spans received: ${receiver.spans.map((s) => s.name).join(', ')}`).toBeDefined();
    expect(start?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(start?.attributes.run_id).toBe(runId);
    expect(start?.service).toBe('mlcycle');
    const trace = inTrace();
    const named = (name: string) => trace.filter((s) => s.name === name);

    // client → workflow: the run's span is a child of the client's start.
    const run = named('RunWorkflow:trainingPipeline');
    expect(run).toHaveLength(1);
    expect(run[0]?.parentSpanId).toBe(start?.spanId);
    // workflow → activity: each scheduling span is the workflow's child, each execution its scheduling's.
    for (const activity of activities) {
      const scheduled = named(`StartActivity:${activity}`);
      const executed = named(`RunActivity:${activity}`);
      expect(scheduled, activity).toHaveLength(1);
      expect(executed, activity).toHaveLength(1);
      expect(scheduled[0]?.parentSpanId, activity).toBe(run[0]?.spanId);
      expect(executed[0]?.parentSpanId, activity).toBe(scheduled[0]?.spanId);
      expect(executed[0]?.attributes).toMatchObject({ temporalWorkflowId: workflowId, run_id: runId });
    }
    expect([...receiver.contentTypes]).toEqual(['application/json']);
  });
});

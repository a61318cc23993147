/**
 * Throughput and tail latency of the prediction server (POST /predict, one row per request)
 * versus a bare node:http server that reads the request body and answers a constant JSON of the
 * same shape, both on loopback in this process, against one freshly started MinIO.
 *
 *   npx tsx bench/predict-throughput.ts [--duration 10] [--runs 3] [--connections 16]
 *
 * The prediction server runs exactly as `mlcycle serve` does: the model (a logistic regression on
 * the generated churn data, registered and aliased `production`) loaded from the store, the
 * refresher polling every second, zod validation, metrics, and prediction logs flushed to MinIO.
 * The load generator is the autocannon CLI in a child process, so it does not share the servers'
 * event loop. The two targets alternate (a, b / b, a …) after one warm-up each; the table shows
 * medians over the runs of req/s (autocannon's mean per second) and p99 latency, and the ratio
 * predict / bare. Prints per-run lines, the table, and last one JSON line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { EMBEDDED_S3_CREDENTIALS } from '../src/config/env';
import { createModelRegistry } from '../src/registry/model-registry';
import { createPredictionServer, type PredictionServer } from '../src/serving/prediction-server';
import type { RunningMinio } from '../src/stack/minio-server';
import { createArtifactStore } from '../src/storage/artifact-store';
import { createS3Client, ensureBucket } from '../src/storage/s3-client';
import { positiveInt } from './cli-args';
import { registerModel, requestRows, trainChurnModel } from '../test/serving/fixtures';
import { median, startBenchMinio, runAutocannon, cleanupOnInterrupt, type LoadResult } from './bench-services';

const BUCKET = 'bench';
const MODEL = 'churn-bench';

type Variant = 'predict' | 'bare';

type Measurement = LoadResult & { variant: Variant };



const cannon = async (variant: Variant, url: string, body: string, connections: number, durationS: number): Promise<Measurement> => ({
  variant,
  ...(await runAutocannon(url, body, connections, durationS)),
});

/** The baseline: reads the whole body (as any JSON API must), answers a fixed JSON (the same bytes as /predict). */
async function startBare(answer: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function main(): Promise<void> {
  const durationS = positiveInt('--duration', 10);
  const runs = positiveInt('--runs', 3);
  const connections = positiveInt('--connections', 16);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlcycle-bench-'));
  let minio: RunningMinio | undefined;
  let client: S3Client | undefined;
  let server: PredictionServer | undefined;
  let bare: Awaited<ReturnType<typeof startBare>> | undefined;
  const serverLog: string[] = [];
  const cleanup = cleanupOnInterrupt(async () => {
    await server?.stop().catch(() => undefined);
    await bare?.close().catch(() => undefined);
    client?.destroy();
    await minio?.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  try {
    minio = await startBenchMinio(dir);
    const settings = { endpoint: minio.endpoint, region: 'us-east-1', bucket: BUCKET, prefix: '', credentials: { ...EMBEDDED_S3_CREDENTIALS } };
    client = createS3Client(settings);
    await ensureBucket(client, BUCKET);
    const store = createArtifactStore({ client, bucket: BUCKET, prefix: '' });
    const registry = createModelRegistry({ store });

    const artifact = await trainChurnModel({ params: { epochs: 20 }, seed: 5 });
    const version = await registerModel(store, registry, MODEL, artifact, 'bench-v1');
    await registry.setAlias(MODEL, 'production', version, { actor: 'bench' });

    server = createPredictionServer({ store, registry, model: MODEL, log: (l) => serverLog.push(l) });
    const predictUrl = `${(await server.start()).url}/predict`;
    const rows = requestRows(1);
    const body = JSON.stringify({ rows });
    // The bare server answers the very bytes /predict answers for this body (probability, label,
    // class, probabilities): a smaller constant made the baseline look faster than it is.
    const first = await fetch(predictUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const answer = await first.text();
    if (first.status !== 200) throw new Error(`/predict answered ${first.status}: ${answer}`);
    bare = await startBare(answer);
    const bareUrl = `${bare.url}/predict`;
    const urls: Record<Variant, string> = { predict: predictUrl, bare: bareUrl };

    console.log(
      `MinIO at ${minio.endpoint}; ${os.cpus().length} CPUs; node ${process.version}; ` +
        `${connections} connections, ${durationS} s per measurement, ${runs} runs; body ${Buffer.byteLength(body)} bytes (1 row)`,
    );
    for (const variant of ['predict', 'bare'] as const) {
      const w = await cannon(variant, urls[variant], body, connections, Math.min(2, durationS));
      console.log(`warm-up ${variant.padEnd(7)} ${w.reqPerSec.toFixed(0).padStart(6)} req/s`);
    }

    const results: Measurement[] = [];
    for (let run = 0; run < runs; run++) {
      const order: Variant[] = run % 2 === 0 ? ['predict', 'bare'] : ['bare', 'predict'];
      for (const variant of order) {
        const m = await cannon(variant, urls[variant], body, connections, durationS);
        if (m.non2xx > 0 || m.errors > 0) throw new Error(`${variant}: ${m.non2xx} non-2xx answers and ${m.errors} errors`);
        results.push(m);
        console.log(
          `run ${run + 1} ${variant.padEnd(7)} ${m.reqPerSec.toFixed(0).padStart(6)} req/s  ` +
            `p50 ${m.p50Ms.toFixed(2).padStart(6)} ms  p99 ${m.p99Ms.toFixed(2).padStart(6)} ms  (${m.requests} requests)`,
        );
      }
    }

    const summarize = (variant: Variant) => {
      const rs = results.filter((r) => r.variant === variant);
      return {
        reqPerSec: median(rs.map((r) => r.reqPerSec)),
        p50Ms: median(rs.map((r) => r.p50Ms)),
        p99Ms: median(rs.map((r) => r.p99Ms)),
        requests: rs.reduce((n, r) => n + r.requests, 0),
      };
    };
    const predictSummary = summarize('predict');
    const bareSummary = summarize('bare');
    const ratio = predictSummary.reqPerSec / bareSummary.reqPerSec;

    // Everything scored was logged: flush, then count what reached the store.
    await server.stop();
    const logged = (await store.listNamed(`predictions/${MODEL}/`)).length;
    server = undefined;

    console.log('');
    console.log(`medians over ${runs} runs           req/s    p50 ms    p99 ms`);
    const line = (name: string, s: typeof predictSummary) =>
      console.log(`${name.padEnd(30)} ${s.reqPerSec.toFixed(0).padStart(7)} ${s.p50Ms.toFixed(2).padStart(9)} ${s.p99Ms.toFixed(2).padStart(9)}`);
    line('prediction server /predict', predictSummary);
    line('bare node:http constant JSON', bareSummary);
    console.log(`throughput ratio predict / bare: ${ratio.toFixed(2)}   (${logged} prediction log objects written)`);
    console.log(
      JSON.stringify({
        bench: 'predict-throughput',
        cpus: os.cpus().length,
        node: process.version,
        connections,
        durationS,
        runs,
        predict: predictSummary,
        bare: bareSummary,
        throughputRatio: Number(ratio.toFixed(4)),
        predictionLogObjects: logged,
      }),
    );
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});

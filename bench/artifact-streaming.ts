/**
 * Upload + download throughput of one large file through the ArtifactStore (putFile + getToFile)
 * versus the raw AWS SDK (lib-storage Upload of a file stream + GetObject piped to a file), in the
 * same run against the same freshly started MinIO, plus the peak RSS of each.
 *
 *   npx tsx bench/artifact-streaming.ts [--size-mib 1024] [--runs 3]
 *
 * Each transfer runs in its own child process so its peak RSS (VmHWM, bench/peak-rss.ts)
 * is its own, not left over from the other variant; the order of the two alternates between runs.
 * Both use the same S3 client settings (createS3Client) and the same part size and queue depth, so
 * the ratio is the store's own cost: hashing the file before uploading (content addressing and
 * dedupe), hashing it again while uploading (to catch a file changed in between), a HEAD for the
 * dedupe check, and verifying the sha256 of the download while writing it.
 *
 * Prints per-run lines, a table of medians and, last, one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { EMBEDDED_S3_CREDENTIALS, type S3Settings } from '../src/config/env';
import type { RunningMinio } from '../src/stack/minio-server';
import { createArtifactStore } from '../src/storage/artifact-store';
import { arg, positiveInt } from './cli-args';
import { createS3Client, ensureBucket } from '../src/storage/s3-client';
import { median, startBenchMinio, cleanupOnInterrupt } from './bench-services';
import { peakRssMiB } from './peak-rss';

const MiB = 1024 * 1024;
const BUCKET = 'bench';
/** What the store uses for a file of this size (its DEFAULT_PART_SIZE and QUEUE_SIZE). */
const PART_SIZE = 16 * MiB;
const QUEUE_SIZE = 4;

type Variant = 'store' | 'raw';

interface ChildResult {
  variant: Variant;
  uploadS: number;
  downloadS: number;
  maxRssMiB: number;
  /** RSS once the SDK is loaded, before the transfer: what the transfer itself adds is the rest. */
  startRssMiB: number;
}



const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;
function settingsFor(endpoint: string): S3Settings {
  return { endpoint, region: 'us-east-1', bucket: BUCKET, prefix: '', credentials: { ...EMBEDDED_S3_CREDENTIALS } };
}

/** A random 1 MiB block repeated with a per-MiB counter: fast to write, not trivially compressible. */
async function generateFile(file: string, sizeMiB: number): Promise<void> {
  const block = randomBytes(MiB);
  const handle = await open(file, 'w');
  try {
    for (let i = 0; i < sizeMiB; i++) {
      block.writeUInt32BE(i, 0);
      block.writeUInt32BE(i ^ 0x5bd1e995, MiB / 2);
      await handle.write(block, 0, MiB);
    }
  } finally {
    await handle.close();
  }
}

async function sha256Seconds(file: string): Promise<number> {
  const start = process.hrtime.bigint();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  hash.digest();
  return seconds(start);
}

// ----------------------------------------------------------------------------- child: one transfer

async function runChild(): Promise<void> {
  const variant = arg('--child') as Variant;
  const endpoint = arg('--endpoint')!;
  const prefix = arg('--prefix')!;
  const file = arg('--file')!;
  const out = arg('--out')!;
  const client = createS3Client(settingsFor(endpoint));
  const startRssMiB = process.memoryUsage().rss / MiB;
  let uploadS: number;
  let downloadS: number;
  try {
    if (variant === 'store') {
      const store = createArtifactStore({ client, bucket: BUCKET, prefix });
      let t = process.hrtime.bigint();
      const ref = await store.putFile(file);
      uploadS = seconds(t);
      t = process.hrtime.bigint();
      await store.getToFile(ref, out);
      downloadS = seconds(t);
    } else {
      const key = `${prefix}raw/${randomUUID()}`;
      let t = process.hrtime.bigint();
      await new Upload({
        client,
        params: { Bucket: BUCKET, Key: key, Body: createReadStream(file), ContentType: 'application/octet-stream' },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      }).done();
      uploadS = seconds(t);
      t = process.hrtime.bigint();
      const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      await pipeline(res.Body as Readable, createWriteStream(out));
      downloadS = seconds(t);
    }
  } finally {
    client.destroy();
  }
  const result: ChildResult = {
    variant,
    uploadS,
    downloadS,
    maxRssMiB: peakRssMiB(),
    startRssMiB,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function spawnChild(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // execArgv carries tsx's loader flags, so the child runs this same TypeScript file.
    const child = spawn(process.execPath, [...process.execArgv, __filename, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${args[1]} transfer exited with ${code}: ${stdout}`));
      try {
        resolve(JSON.parse(last) as ChildResult);
      } catch {
        reject(new Error(`${args[1]} transfer printed no result: ${stdout}`));
      }
    });
  });
}

async function deletePrefix(client: S3Client, prefix: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
    );
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys } }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

// ----------------------------------------------------------------------------- parent

async function main(): Promise<void> {
  const sizeMiB = positiveInt('--size-mib', 1024);
  const runs = positiveInt('--runs', 3);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlcycle-bench-'));
  let minio: RunningMinio | undefined;
  let client: S3Client | undefined;
  const cleanup = cleanupOnInterrupt(async () => {
    client?.destroy();
    await minio?.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  try {
    minio = await startBenchMinio(dir);
    client = createS3Client(settingsFor(minio.endpoint));
    await ensureBucket(client, BUCKET);

    const file = path.join(dir, 'input.bin');
    let t = process.hrtime.bigint();
    await generateFile(file, sizeMiB);
    const size = (await stat(file)).size;
    console.log(`generated ${sizeMiB} MiB in ${seconds(t).toFixed(1)} s; MinIO at ${minio.endpoint}; ${os.cpus().length} CPUs`);
    spawnSync('sync', { stdio: 'ignore' });
    const hashS = await sha256Seconds(file);
    console.log(`one sha256 pass over the file: ${hashS.toFixed(2)} s (${(sizeMiB / hashS).toFixed(0)} MiB/s)`);

    const results: ChildResult[] = [];
    for (let run = 0; run < runs; run++) {
      const order: Variant[] = run % 2 === 0 ? ['store', 'raw'] : ['raw', 'store'];
      for (const variant of order) {
        // A fresh prefix each time: the store deduplicates, and a second upload of the same bytes
        // under the same prefix would be a HEAD, not a transfer.
        const prefix = `run-${run}-${variant}-${randomUUID()}/`;
        const out = path.join(dir, `out-${run}-${variant}.bin`);
        t = process.hrtime.bigint();
        const r = await spawnChild(['--child', variant, '--endpoint', minio.endpoint, '--prefix', prefix, '--file', file, '--out', out]);
        const got = (await stat(out)).size;
        if (got !== size) throw new Error(`${variant}: downloaded ${got} bytes, expected ${size}`);
        results.push(r);
        console.log(
          `run ${run + 1} ${variant.padEnd(5)} upload ${(sizeMiB / r.uploadS).toFixed(0).padStart(5)} MiB/s  ` +
            `download ${(sizeMiB / r.downloadS).toFixed(0).padStart(5)} MiB/s  ` +
            `round trip ${((2 * sizeMiB) / (r.uploadS + r.downloadS)).toFixed(0).padStart(5)} MiB/s  ` +
            `peak RSS ${r.maxRssMiB.toFixed(0)} MiB (at start ${r.startRssMiB.toFixed(0)})`,
        );
        await rm(out, { force: true });
        await deletePrefix(client, prefix);
        // Write back what this transfer left dirty (MinIO's data, the downloaded file) now, so the
        // next transfer does not pay for it.
        spawnSync('sync', { stdio: 'ignore' });
      }
    }

    const summarize = (variant: Variant) => {
      const rs = results.filter((r) => r.variant === variant);
      return {
        uploadMiBps: median(rs.map((r) => sizeMiB / r.uploadS)),
        downloadMiBps: median(rs.map((r) => sizeMiB / r.downloadS)),
        roundTripMiBps: median(rs.map((r) => (2 * sizeMiB) / (r.uploadS + r.downloadS))),
        peakRssMiB: median(rs.map((r) => r.maxRssMiB)),
        maxPeakRssMiB: Math.max(...rs.map((r) => r.maxRssMiB)),
      };
    };
    const store = summarize('store');
    const raw = summarize('raw');
    const ratio = {
      upload: store.uploadMiBps / raw.uploadMiBps,
      download: store.downloadMiBps / raw.downloadMiBps,
      roundTrip: store.roundTripMiBps / raw.roundTripMiBps,
    };
    const row = (name: string, s: typeof store): string =>
      `${name.padEnd(14)}${s.uploadMiBps.toFixed(0).padStart(10)}${s.downloadMiBps.toFixed(0).padStart(12)}` +
      `${s.roundTripMiBps.toFixed(0).padStart(12)}${s.maxPeakRssMiB.toFixed(0).padStart(16)}`;
    console.log('');
    console.log(`medians over ${runs} run(s), ${sizeMiB} MiB file (MiB/s)`);
    console.log(`${'variant'.padEnd(14)}${'upload'.padStart(10)}${'download'.padStart(12)}${'round trip'.padStart(12)}${'peak RSS MiB'.padStart(16)}`);
    console.log(row('ArtifactStore', store));
    console.log(row('raw SDK', raw));
    console.log(
      `${'store / raw'.padEnd(14)}${ratio.upload.toFixed(2).padStart(9)}x${ratio.download.toFixed(2).padStart(11)}x` +
        `${ratio.roundTrip.toFixed(2).padStart(11)}x`,
    );
    const targets = { ratio: 0.9, peakRssMiB: 300 };
    console.log(
      `targets: round-trip ratio >= ${targets.ratio} (${ratio.roundTrip >= targets.ratio ? 'met' : 'MISSED'}), ` +
        `store peak RSS <= ${targets.peakRssMiB} MiB (${store.maxPeakRssMiB <= targets.peakRssMiB ? 'met' : 'MISSED'})`,
    );
    const round = (x: number): number => Math.round(x * 100) / 100;
    const rounded = <T extends Record<string, number>>(o: T): T =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v)])) as T;
    console.log(
      JSON.stringify({
        bench: 'artifact-streaming',
        sizeMiB,
        runs,
        cpus: os.cpus().length,
        sha256PassS: round(hashS),
        store: rounded(store),
        raw: rounded(raw),
        ratio: rounded(ratio),
        targets,
        met: { ratio: ratio.roundTrip >= targets.ratio, peakRss: store.maxPeakRssMiB <= targets.peakRssMiB },
      }),
    );
  } finally {
    await cleanup();
  }
}

if (process.argv.includes('--child')) {
  runChild().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}

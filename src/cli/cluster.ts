import { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { DEFAULT_S3_ENDPOINT, parseEnv, s3Settings, temporalAddress } from '../config/env';
import { MlcycleError } from '../errors';
import { checkCluster, initCluster, type ClusterReport, type ClusterTarget } from '../cluster/cluster-setup';
import { createS3Client } from '../storage/s3-client';
import { parseRetentionDays } from './options';

async function withTarget<T>(namespace: string | undefined, fn: (t: ClusterTarget) => Promise<T>): Promise<T> {
  const env = parseEnv();
  const address = temporalAddress(env);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 5000 });
  } catch (err) {
    throw new MlcycleError('SERVICE_UNREACHABLE', `Temporal server not reachable at ${address} (TEMPORAL_ADDRESS): ${(err as Error).message}`, { cause: err });
  }
  const s3 = s3Settings(env, DEFAULT_S3_ENDPOINT);
  const client = createS3Client(s3);
  try {
    return await fn({ connection, address, namespace: namespace ?? env.TEMPORAL_NAMESPACE, s3: client, bucket: s3.bucket, endpoint: s3.endpoint ?? 'AWS S3' });
  } finally {
    client.destroy();
    await connection.close();
  }
}

function printReport(r: ClusterReport): void {
  const mark = (ok: boolean) => (ok ? 'ok     ' : 'MISSING');
  console.log(`${mark(true)} Temporal ${r.temporal.address}`);
  console.log(`${mark(r.namespace.exists)} namespace ${r.namespace.name}${r.namespace.retentionDays ? ` (retention ${r.namespace.retentionDays}d)` : ''}`);
  console.log(`${mark(r.searchAttributes.missing.length === 0)} search attributes${r.searchAttributes.missing.length ? `: ${r.searchAttributes.missing.join(', ')} missing` : ` ${r.searchAttributes.present.join(', ')}`}`);
  console.log(`${mark(r.bucket.exists)} bucket ${r.bucket.name} at ${r.bucket.endpoint}${r.bucket.error ? ` (${r.bucket.error})` : ''}`);
}

export function addClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('Prepare a Temporal cluster and S3 endpoint for mlcycle (namespace, search attributes, bucket)');

  cluster
    .command('init')
    .description('Create the namespace, the search attributes and the bucket where missing (idempotent)')
    .option('--namespace <name>', 'namespace to create (default TEMPORAL_NAMESPACE)')
    .option('--retention <days>', 'workflow history retention of a namespace it creates', parseRetentionDays, 30)
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { namespace?: string; retention: number; json?: boolean }) => {
      await withTarget(opts.namespace, async (t) => {
        const { created, report } = await initCluster({ ...t, retentionDays: opts.retention, log: opts.json ? undefined : (l) => console.error(l) });
        if (opts.json) console.log(JSON.stringify({ created, ...report }));
        else {
          printReport(report);
          console.log(created.length ? `created: ${created.join('; ')}` : 'nothing to do: everything was already in place');
        }
        if (!report.ready) throw new MlcycleError('CLUSTER_NOT_READY', `still missing after init: ${report.missing.join('; ')}`);
      });
    });

  cluster
    .command('check')
    .description('Report what mlcycle needs that is missing; exit 2 when something is')
    .option('--namespace <name>', 'namespace to check (default TEMPORAL_NAMESPACE)')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { namespace?: string; json?: boolean }) => {
      await withTarget(opts.namespace, async (t) => {
        const report = await checkCluster(t);
        if (opts.json) console.log(JSON.stringify(report));
        else {
          printReport(report);
          if (!report.ready) console.log('run `mlcycle cluster init` to create what is missing');
        }
        if (!report.ready) process.exitCode = 2;
      });
    });
}

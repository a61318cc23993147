/**
 * The worker process of bench/peers' kill -9 comparison: runs the bench workflows (a prebuilt
 * bundle) and activities on one queue until killed. Configured by the driver through the
 * environment: BENCH_TEMPORAL_ADDRESS, BENCH_NAMESPACE, BENCH_QUEUE, BENCH_BUNDLE.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import * as activities from '../orchestration/activities';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: need('BENCH_TEMPORAL_ADDRESS') });
  const worker = await Worker.create({
    connection,
    namespace: need('BENCH_NAMESPACE'),
    taskQueue: need('BENCH_QUEUE'),
    workflowBundle: { codePath: need('BENCH_BUNDLE') },
    activities,
  });
  process.stdout.write('READY\n');
  await worker.run();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

import type { Command } from 'commander';
import { DEFAULT_S3_ENDPOINT, parseEnv, s3Settings } from '../config/env';
import { createModelRegistry, type ModelRegistry } from '../registry/model-registry';
import { createArtifactStore } from '../storage/artifact-store';
import { checkS3Reachable, createS3Client } from '../storage/s3-client';

async function withRegistry<T>(fn: (registry: ModelRegistry) => Promise<T>): Promise<T> {
  const settings = s3Settings(parseEnv(), DEFAULT_S3_ENDPOINT);
  const client = createS3Client(settings);
  try {
    await checkS3Reachable(client, settings);
    const store = createArtifactStore({ client, bucket: settings.bucket, prefix: settings.prefix });
    return await fn(createModelRegistry({ store }));
  } finally {
    client.destroy();
  }
}

const fmt = (metrics: Record<string, number>) =>
  Object.entries(metrics)
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join(', ');

/** `mlcycle models list|show`: the registry as users read it. */
export function addModelCommands(program: Command): void {
  const models = program.command('models').description('Inspect the model registry');

  models
    .command('list')
    .description('List registered models with their latest version and aliases')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      await withRegistry(async (registry) => {
        const all = await registry.listModels();
        if (opts.json) {
          console.log(JSON.stringify(all, null, 2));
          return;
        }
        if (!all.length) console.log('no models registered yet');
        for (const m of all) {
          const aliases = Object.entries(m.aliases).map(([a, v]) => `${a}→v${v}`).join(' ');
          console.log(`${m.name}  latest v${m.latestVersion}${aliases ? `  ${aliases}` : ''}`);
        }
      });
    });

  models
    .command('show <name>')
    .description('Show the versions of a model with metrics, lineage and aliases')
    .option('--json', 'print machine-readable JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withRegistry(async (registry) => {
        const [versions, aliases] = await Promise.all([registry.listVersions(name), registry.getAliases(name)]);
        if (opts.json) {
          console.log(JSON.stringify({ name, aliases, versions }, null, 2));
          return;
        }
        console.log(`${name}: ${versions.length} version(s)`);
        for (const v of versions) {
          const held = Object.entries(aliases).filter(([, n]) => n === v.version).map(([a]) => a);
          console.log(`  v${v.version}${held.length ? ` [${held.join(', ')}]` : ''}  ${v.createdAt}  ${fmt(v.metrics)}`);
          console.log(`      data ${v.lineage.datasetSha256.slice(0, 12)}  code ${v.lineage.codeVersion}  ${v.lineage.trainer} ${JSON.stringify(v.lineage.params)}  run ${v.lineage.workflowId}`);
        }
      });
    });
}

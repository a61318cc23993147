import type { Command } from 'commander';
import { DEFAULT_S3_ENDPOINT, parseEnv, s3Settings } from '../config/env';
import type { ModelRegistry } from '../registry/model-registry';
import type { ArtifactStore } from '../storage/artifact-store';
import { MlcycleError, isMlcycleError } from '../errors';
import { MlcycleClient } from '../client/mlcycle-client';
import { ModelCatalog } from '../client/model-catalog';

/** The registry as configured by the environment (needs no Temporal server). */
export function modelCatalog(): ModelCatalog {
  return new ModelCatalog(s3Settings(parseEnv(), DEFAULT_S3_ENDPOINT));
}

export function withRegistry<T>(fn: (registry: ModelRegistry, store: ArtifactStore) => Promise<T>): Promise<T> {
  return modelCatalog().withRegistry(fn);
}

/**
 * The catalog an alias move goes through: by default a cpu worker's (through Temporal), so this
 * process needs no storage credentials; `--direct`, the registry from this process.
 */
async function withCatalog<T>(direct: boolean | undefined, fn: (catalog: ModelCatalog) => Promise<T>): Promise<T> {
  if (direct) return fn(modelCatalog());
  let client: MlcycleClient;
  try {
    client = await MlcycleClient.fromEnv();
  } catch (err) {
    if (isMlcycleError(err) && err.code === 'SERVICE_UNREACHABLE') {
      throw new MlcycleError('SERVICE_UNREACHABLE', `${err.message}; alias moves are carried out by a worker through Temporal: start it (mlcycle dev) or set TEMPORAL_ADDRESS, or pass --direct to write the registry from here with storage credentials`, { cause: err });
    }
    throw err;
  }
  try {
    return await fn(client.models);
  } finally {
    await client.close();
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
    .command('promote <name> <version>')
    .description('Point an alias (default production) at a version; carried out by a cpu worker, which checks the approval policy; recorded in the audit log')
    .option('--alias <alias>', 'alias to move', 'production')
    .option('--as <identity>', 'who promotes (audit log)', process.env.USER ?? 'cli')
    .option('--reason <text>', 'why (audit log)')
    .option('--direct', 'write the registry from this process with its storage credentials instead of through a worker (the registry still enforces the policy)')
    .action(async (name: string, versionArg: string, opts: { alias: string; as: string; reason?: string; direct?: boolean }) => {
      const version = Number(versionArg);
      if (!Number.isInteger(version) || version < 1) throw new MlcycleError('USAGE', `<version>: expected a whole number >= 1, got "${versionArg}"`);
      const change = { alias: opts.alias, actor: opts.as, reason: opts.reason ?? 'manual promotion' };
      const r = await withCatalog(opts.direct, (catalog) => catalog.promote(name, version, change));
      if (r.unreadable !== undefined) {
        console.log(`${name}: ${opts.alias} at v${version} (carried out by the worker; its answer cannot be read here: ${r.unreadable})`);
        return;
      }
      console.log(r.moved ? `${name}: ${opts.alias} → v${version}${r.previous !== null ? ` (was v${r.previous})` : ''}` : `${name}: ${opts.alias} already at v${version}`);
    });

  models
    .command('rollback <name>')
    .description('Move an alias (default production) back to its previous holder; carried out by a cpu worker, which checks that a protected alias\'s previous holder meets the approval policy')
    .option('--alias <alias>', 'alias to roll back', 'production')
    .option('--as <identity>', 'who rolls back (audit log)', process.env.USER ?? 'cli')
    .option('--reason <text>', 'why (audit log)')
    .option('--direct', 'write the registry from this process with its storage credentials instead of through a worker')
    .action(async (name: string, opts: { alias: string; as: string; reason?: string; direct?: boolean }) => {
      const change = { alias: opts.alias, actor: opts.as, reason: opts.reason ?? 'manual rollback' };
      const r = await withCatalog(opts.direct, (catalog) => catalog.rollback(name, change));
      if (r.unreadable !== undefined) {
        console.log(`${name}: ${opts.alias} rolled back (carried out by the worker; its answer cannot be read here: ${r.unreadable})`);
        return;
      }
      console.log(`${name}: ${opts.alias} rolled back v${r.from} → v${r.to}`);
    });

  models
    .command('list')
    .description('List registered models with their latest version and aliases')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      const all = await modelCatalog().list();
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

  models
    .command('show <name>')
    .description('Show the versions of a model with metrics, lineage and aliases')
    .option('--json', 'print machine-readable JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const shown = await modelCatalog().show(name);
      if (opts.json) {
        console.log(JSON.stringify(shown, null, 2));
        return;
      }
      const { versions, aliases } = shown;
      console.log(`${name}: ${versions.length} version(s)`);
      for (const v of versions) {
        const held = Object.entries(aliases).filter(([, n]) => n === v.version).map(([a]) => a);
        console.log(`  v${v.version}${held.length ? ` [${held.join(', ')}]` : ''}  ${v.createdAt}  ${fmt(v.metrics)}`);
        console.log(`      data ${v.lineage.datasetSha256.slice(0, 12)}  code ${v.lineage.codeVersion}  ${v.lineage.trainer} ${JSON.stringify(v.lineage.params)}  run ${v.lineage.workflowId}`);
      }
    });
}

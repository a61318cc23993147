/**
 * The client API end to end: train a model from a spec, follow the run, read the registry and
 * point an alias at the new version. Against the dev stack (`mlcycle dev` in another terminal):
 *
 *   npx tsx examples/client-api/train-and-promote.ts examples/churn/pipeline.yaml [alias]
 *
 * It connects as the CLI does (TEMPORAL_ADDRESS, MLCYCLE_S3_*, … or the local defaults). In a
 * project of your own, `npm install mlcycle` and keep the same import.
 */
import { MlcycleClient, rootMessage } from 'mlcycle';

async function main(specPath: string, alias: string): Promise<number> {
  const client = await MlcycleClient.fromEnv();
  try {
    const { workflowId } = await client.run(specPath);
    console.error(`started ${workflowId}${client.webUiLink(workflowId) ? ` (${client.webUiLink(workflowId)})` : ''}`);

    let stage = '';
    const status = await client.waitForRun(workflowId, {
      onStatus: (s) => {
        if (s.stage !== stage) console.error(`  ${(stage = s.stage)}`);
      },
    });
    if (status.status !== 'completed' || !status.model) {
      console.error(`run ${workflowId} ended ${status.status}: ${status.error ?? 'no model registered'}`);
      return 1;
    }

    const { name, version } = status.model;
    const promoted = await client.models.promote(name, version, { alias, reason: 'promoted by the client-api example' });
    const model = await client.models.show(name);
    const registered = model.versions.find((v) => v.version === version);
    console.log(JSON.stringify({ workflowId, status: status.status, model: name, version, moved: promoted.moved, aliases: model.aliases, metrics: registered?.metrics }));
    return 0;
  } finally {
    await client.close();
  }
}

const [specPath, alias = 'staging'] = process.argv.slice(2);
if (!specPath) {
  console.error('usage: train-and-promote.ts <spec.yaml> [alias]');
  process.exit(2);
}
main(specPath, alias).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(rootMessage(err));
    process.exit(1);
  },
);

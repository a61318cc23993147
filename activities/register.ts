import { Context } from '@temporalio/activity';
import { createModelRegistry } from '../src/registry/model-registry';
import type { RegisterModelInput, RegisterResult } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { isMlcycleError } from '../src/errors';


/**
 * Registers the evaluated model. Keyed on the workflow run, so an activity retry (or a replayed
 * workflow) returns the version the first attempt created instead of adding a second one.
 */
export function createRegisterActivities(deps: ActivityDeps) {
  const registry = createModelRegistry({ store: deps.store });
  return {
    async registerModel(input: RegisterModelInput): Promise<RegisterResult> {
      const ctx = Context.current();
      try {
        if (input.cache) {
          const existing = (await registry.listVersions(input.name).catch(emptyIfUnknownModel)).find((v) => v.modelUri === input.modelUri);
          if (existing) return { name: existing.name, version: existing.version, created: false, cached: true, attempt: ctx.info.attempt };
        }
        const { version, created } = await registry.register({
          name: input.name,
          modelUri: input.modelUri,
          metrics: input.metrics,
          lineage: input.lineage,
          reports: input.reports,
          actor: `workflow:${input.lineage.workflowId}`,
          idempotencyKey: `${input.lineage.workflowId}/${input.lineage.runId}`,
        });
        return { name: version.name, version: version.version, created, cached: false, attempt: ctx.info.attempt };
      } catch (err) {
        throw asActivityFailure(err);
      }
    },
  };
}

function emptyIfUnknownModel(err: unknown): [] {
  if (isMlcycleError(err) && err.code === 'NOT_FOUND') return [];
  throw err;
}

import type { ActivityDeps } from './deps';
import { createIngestActivities } from './ingest';

export type { ActivityDeps } from './deps';

/** Builds every activity from its dependencies, as the workers register them. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createIngestActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

import { createApprovalActivities } from './approval';
import type { ActivityDeps } from './deps';
import { createDeployActivities } from './deploy';
import { createTuningActivities } from './tuning';
import { createMonitorActivities } from './monitor';
import { createEvaluateActivities } from './evaluate';
import { createIngestActivities } from './ingest';
import { createRegisterActivities } from './register';
import { createTrainActivities } from './train';
import { createValidateActivities } from './validate';

export type { ActivityDeps } from './deps';

/** Builds every activity from its dependencies, as the workers register them. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createIngestActivities(deps),
    ...createValidateActivities(deps),
    ...createTrainActivities(deps),
    ...createEvaluateActivities(deps),
    ...createRegisterActivities(deps),
    ...createApprovalActivities(deps),
    ...createDeployActivities(deps),
    ...createTuningActivities(deps),
    ...createMonitorActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

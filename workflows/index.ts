// The workflow bundle's entry point: every workflow type the workers register.
export { trainingPipeline, statusQuery } from './training-pipeline';
export { deploymentWorkflow } from './deployment';
export { tuningStudy, tuningTrial } from './tuning-study';
export { monitorCheck } from './monitor';
export { promoteAliasWorkflow, rollbackAliasWorkflow } from './alias-move';

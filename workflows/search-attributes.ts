import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so reviewers can filter runs in the Web UI by model, stage and
 * approval state. The dev server registers them at start; docker-compose registers them too.
 */
export const MODEL = defineSearchAttributeKey('MlcycleModel', SearchAttributeType.KEYWORD);
export const STAGE = defineSearchAttributeKey('MlcycleStage', SearchAttributeType.KEYWORD);
export const KIND = defineSearchAttributeKey('MlcycleKind', SearchAttributeType.KEYWORD);
export const APPROVAL_STATUS = defineSearchAttributeKey('ApprovalStatus', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [MODEL, STAGE, KIND, APPROVAL_STATUS] as const;

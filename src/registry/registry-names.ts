/**
 * The shapes of model and alias names and the registry's read limits, on their own so that the trust records (and through them
 * the approval policy, which the registry enforces) can use them without an import cycle.
 */
export const MODEL_NAME = /^[a-z0-9][a-z0-9-_]{0,62}$/;
export const ALIAS_NAME = /^[a-z][a-z0-9-_]{0,31}$/;
/** The most audit entries one auditPage call returns. */
export const AUDIT_PAGE_MAX = 1_000_000;

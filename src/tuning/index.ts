/** Hyperparameter tuning: the `tune:` spec section and workflow-safe suggestion strategies. */
export * from './tune-spec';
export * from './strategies';
export { createRng, rngStateFromSeed, type Rng, type RngState } from './rng';
export { normalizeSpace, gridValues, type DimSpec } from './space';

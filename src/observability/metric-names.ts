// mlcycle's own metrics, served next to the SDK's temporal_* metrics on the worker's Prometheus
// endpoint. Plain constants: workflow code imports them too, so nothing here may touch Node APIs.

/** Histogram (seconds), tags stage, model, outcome (completed | cached | failed); recorded by the workflow. */
export const STAGE_DURATION_SECONDS = 'mlcycle_stage_duration_seconds';
/** Counter: activity attempts after the first; tagged with the activity type by the SDK. */
export const ACTIVITY_RETRIES_TOTAL = 'mlcycle_activity_retries_total';
/** Counter: training attempts that resumed from a checkpoint instead of epoch 0; tag trainer. */
export const TRAINING_RESUMES_TOTAL = 'mlcycle_training_resumes_total';
/** Counters: step cache lookups that found / did not find a previous output; tag stage. */
export const STEP_CACHE_HITS_TOTAL = 'mlcycle_step_cache_hits_total';
export const STEP_CACHE_MISSES_TOTAL = 'mlcycle_step_cache_misses_total';

/**
 * Stages last from milliseconds (a cache hit) to days (an approval gate); the SDK's default
 * buckets are tuned for task latencies in milliseconds.
 */
export const STAGE_DURATION_BUCKETS = [0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400, 604800];

// The prediction service's own metrics (src/serving/serving-metrics.ts); the canary guardrails
// (src/deploy/guardrails.ts) read the first three back from its /metrics.
/** Counter, labels version, status: every /predict answer, by HTTP status. */
export const PREDICT_REQUESTS_TOTAL = 'mlcycle_predict_requests_total';
/** Counter, label version: /predict answers that carried no predictions (4xx and 5xx). */
export const PREDICT_ERRORS_TOTAL = 'mlcycle_predict_errors_total';
/** Histogram (seconds), label version: handler time of /predict (validate + score). */
export const PREDICT_LATENCY_SECONDS = 'mlcycle_predict_latency_seconds';
/** Gauge, label role (stable | canary): the model versions serving. */
export const MODEL_VERSION = 'mlcycle_model_version';
/** Gauge: share of requests routed to the canary, in percent. */
export const CANARY_PERCENT = 'mlcycle_canary_percent';
/** Counter, label outcome (written | dropped | truncated): prediction log rows. */
export const PREDICTION_LOG_ROWS_TOTAL = 'mlcycle_prediction_log_rows_total';

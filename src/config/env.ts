import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { MlcycleError } from '../errors';
import { readEmbeddedCredentials } from '../stack/embedded-credentials';
import { formatIssues } from './zod-issues';

const hostPort = z
  .string()
  .regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:7233');

const httpUrl = z
  .url('expected an http(s) URL, e.g. http://127.0.0.1:9000')
  .refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL, e.g. http://127.0.0.1:9000');

const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 chars: a-z 0-9 . -)');

/**
 * The environment mlcycle reads. Unset service addresses mean "use the embedded local stack".
 * Credentials come from the environment only and never travel through workflow history.
 */
export const EnvSchema = z.object({
  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1, 'must not be empty').default('default'),
  MLCYCLE_S3_ENDPOINT: httpUrl.optional(),
  MLCYCLE_S3_BUCKET: bucketName.default('mlcycle'),
  MLCYCLE_S3_REGION: z.string().min(1).default('us-east-1'),
  MLCYCLE_S3_PREFIX: z
    .string()
    .regex(/^([A-Za-z0-9._-]+\/)*$/, 'expected a key prefix ending with "/", e.g. team-a/')
    .default(''),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  MLCYCLE_STATE_DIR: z.string().min(1).optional(),
  MLCYCLE_CACHE_DIR: z.string().min(1).optional(),
  XDG_CACHE_HOME: z.string().min(1).optional(),
  MLCYCLE_TEMPORAL_BIN: z.string().min(1).optional(),
  MLCYCLE_MINIO_BIN: z.string().min(1).optional(),
  /** The production Temporal server and its SQL schema tool (topology tests, `mlcycle setup --production`). */
  MLCYCLE_TEMPORAL_SERVER_BIN: z.string().min(1).optional(),
  MLCYCLE_TEMPORAL_SQL_TOOL_BIN: z.string().min(1).optional(),
  MLCYCLE_CODE_VERSION: z.string().min(1).optional(),
  MLCYCLE_WEB_UI_URL: httpUrl.optional(),
  /** Payload encryption keys: a JSON key file ({"active": id, "keys": {id: base64}}) or the same JSON inline. */
  MLCYCLE_CODEC_KEY_FILE: z.string().min(1).optional(),
  MLCYCLE_CODEC_KEYS: z.string().min(1).optional(),
  /** Shared secret of the codec server (`mlcycle codec-server`, `mlcycle dev`): Bearer token and browser login. */
  MLCYCLE_CODEC_TOKEN: z.string().min(16, 'expected at least 16 characters, e.g. from `openssl rand -base64 32`').optional(),
  /** Sign-in token of the console (`mlcycle ui`, `mlcycle dev`); else --token-file or the state folder's console-token. */
  MLCYCLE_CONSOLE_TOKEN: z.string().min(16, 'expected at least 16 characters, e.g. from `openssl rand -base64 32`').optional(),
  /** Prepended to the cpu/gpu task queue names, so several teams or test runs can share a namespace. */
  MLCYCLE_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'expected letters, digits, . _ -').default(''),
  /** Where a worker process serves Prometheus metrics (`/metrics`); unset: no exporter. */
  MLCYCLE_METRICS_ADDRESS: z
    .string()
    .regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port to serve Prometheus metrics on, e.g. 0.0.0.0:9464')
    .optional(),
  MLCYCLE_LOG_FORMAT: z.enum(['text', 'json'], 'expected text or json').default('text'),
  /** Unset: INFO for json logs, WARN for text (a terminal is not a log collector). */
  MLCYCLE_LOG_LEVEL: z
    .string()
    .transform((v) => v.toUpperCase())
    .pipe(z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'], 'expected one of TRACE, DEBUG, INFO, WARN, ERROR'))
    .optional(),
  /** OTLP/HTTP base URL (spans go to <url>/v1/traces); set, it turns tracing on. Wins over the standard variable. */
  MLCYCLE_OTEL_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
});
export type Env = z.infer<typeof EnvSchema>;

/**
 * What clients fall back to for an embedded MinIO whose state folder has no generated
 * credentials (a folder from before they were generated). New folders get random ones
 * (src/stack/embedded-credentials.ts); test and bench stacks that start MinIO themselves use these.
 */
export const EMBEDDED_S3_CREDENTIALS = {
  accessKeyId: 'mlcycle',
  secretAccessKey: 'mlcycle-dev-secret',
} as const;

export function parseEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // Empty strings are how shells unset things in CI files; treat them as absent.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) {
    throw new MlcycleError('CONFIG_INVALID', `invalid environment:\n${formatIssues(result.error)}`);
  }
  return result.data;
}

/** Where clients and workers find Temporal when TEMPORAL_ADDRESS is unset: the `mlcycle dev` default. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_S3_ENDPOINT = 'http://127.0.0.1:9000';

export function temporalAddress(env: Env): string {
  return env.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS;
}

/** The Web UI that goes with the configured server, for links; only guessed for the local default. */
export function webUiUrl(env: Env): string | undefined {
  if (env.MLCYCLE_WEB_UI_URL) return env.MLCYCLE_WEB_UI_URL.replace(/\/$/, '');
  return env.TEMPORAL_ADDRESS ? undefined : 'http://127.0.0.1:8233';
}

/** Per-user cache shared by every clone on the machine (built binaries live here). */
export function cacheDir(env: Env): string {
  if (env.MLCYCLE_CACHE_DIR) return path.resolve(env.MLCYCLE_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'mlcycle');
}

/** Project-local state (dev server database, MinIO data, logs). */
export function stateDir(env: Env, cwd = process.cwd()): string {
  return path.resolve(cwd, env.MLCYCLE_STATE_DIR ?? '.mlcycle');
}

export interface S3Settings {
  endpoint?: string;
  region: string;
  bucket: string;
  prefix: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function s3Settings(env: Env, embeddedEndpoint?: string, embeddedStateDir?: string): S3Settings {
  const endpoint = env.MLCYCLE_S3_ENDPOINT ?? embeddedEndpoint;
  const explicit =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
      : undefined;
  const settings: S3Settings = {
    region: env.MLCYCLE_S3_REGION,
    bucket: env.MLCYCLE_S3_BUCKET,
    prefix: env.MLCYCLE_S3_PREFIX,
  };
  if (endpoint) settings.endpoint = endpoint;
  const credentials = explicit ?? (env.MLCYCLE_S3_ENDPOINT ? undefined : (readEmbeddedCredentials(embeddedStateDir ?? stateDir(env)) ?? EMBEDDED_S3_CREDENTIALS));
  if (credentials) settings.credentials = { ...credentials };
  return settings;
}

import { CreateBucketCommand, HeadBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from '../config/env';
import { MlcycleError } from '../errors';

/**
 * How each client names its service in error messages. Kept beside the client rather than
 * re-derived from `client.config`, whose endpoint is an async provider.
 */
const serviceNames = new WeakMap<S3Client, string>();

export function describeS3Service(settings: Pick<S3Settings, 'endpoint' | 'region'>): string {
  return settings.endpoint
    ? `S3 (MinIO) at ${settings.endpoint}`
    : `S3 (AWS, region ${settings.region})`;
}

/** The service name used in error messages for a client made by createS3Client. */
export function s3ServiceName(client: S3Client): string {
  return serviceNames.get(client) ?? 'S3';
}

export function createS3Client(settings: S3Settings): S3Client {
  const client = new S3Client({
    region: settings.region,
    ...(settings.endpoint
      ? // MinIO and most S3-compatible stores do not serve virtual-hosted bucket names.
        { endpoint: settings.endpoint, forcePathStyle: true }
      : {}),
    ...(settings.credentials ? { credentials: { ...settings.credentials } } : {}),
    // SDK >= 3.729 adds CRC32 checksums to every upload and validates them on download by default;
    // several S3-compatible stores reject or omit them. Content integrity is checked by our own sha256.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A few retries ride out a restarting local MinIO or a throttled bucket without making a dead
    // endpoint take long to report.
    maxAttempts: 4,
    retryMode: 'standard',
    // Without a connect timeout a blackholed endpoint hangs for the OS default (minutes).
    // No request/socket timeout: large streaming transfers may legitimately take long.
    requestHandler: { connectionTimeout: 5_000 },
  });
  serviceNames.set(client, describeS3Service(settings));
  return client;
}

interface S3ErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** HTTP status of a failed S3 call, or undefined when no response arrived (network failure). */
export function s3ErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as S3ErrorShape;
  return e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
}

/** Bodiless (HEAD) error responses leave the SDK nothing but the status to name the error by. */
const STATUS_NAMES: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  412: 'PreconditionFailed',
};

export function s3ErrorName(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as S3ErrorShape;
  const name = e.Code ?? e.name ?? e.code ?? 'Error';
  const status = s3ErrorStatus(err);
  if ((name === 'Unknown' || name === 'UnknownError') && status !== undefined) return STATUS_NAMES[status] ?? name;
  return name;
}

export function isS3NotFound(err: unknown): boolean {
  const name = s3ErrorName(err);
  return s3ErrorStatus(err) === 404 || name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket';
}

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'CredentialsProviderError',
  'AccessDenied',
  'Forbidden',
]);

function isCredentialError(err: unknown): boolean {
  return s3ErrorStatus(err) === 403 || CREDENTIAL_ERRORS.has(s3ErrorName(err));
}

function isNetworkError(err: unknown): boolean {
  // A missing-credentials failure never reaches the network but also has no HTTP status.
  if (s3ErrorName(err) === 'CredentialsProviderError') return false;
  return s3ErrorStatus(err) === undefined;
}

function causeText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return causeText(err.errors[0]);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * Turn an SDK failure into an MlcycleError whose message says which service failed and why.
 * `action` reads like "uploading s3://bucket/key". Errors that are already MlcycleErrors pass through.
 */
export function wrapS3Error(err: unknown, service: string, action: string): MlcycleError {
  if (err instanceof MlcycleError) return err;
  if (isNetworkError(err)) {
    return new MlcycleError(
      'SERVICE_UNREACHABLE',
      `${service} is not reachable (${action}): ${causeText(err)}. ` +
        'Is the store running? Start the local stack with `mlcycle setup`, or set MLCYCLE_S3_ENDPOINT.',
      { cause: err },
    );
  }
  if (isCredentialError(err)) {
    return new MlcycleError(
      'CONFIG_INVALID',
      `${service} rejected the credentials (${action}): ${s3ErrorName(err)}` +
        `${s3ErrorStatus(err) ? ` (HTTP ${s3ErrorStatus(err)})` : ''}. ` +
        'Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and the access policy of the bucket.',
      { cause: err },
    );
  }
  if (s3ErrorName(err) === 'NoSuchBucket') {
    return new MlcycleError('CLUSTER_NOT_READY', `${service}: the bucket does not exist (${action}): run \`mlcycle cluster init\``, { cause: err });
  }
  if (isS3NotFound(err)) {
    return new MlcycleError('NOT_FOUND', `${service}: not found (${action}): ${s3ErrorName(err)}`, { cause: err });
  }
  return new MlcycleError(
    'SERVICE_UNREACHABLE',
    `${service} failed (${action}): ${s3ErrorName(err)}` +
      `${s3ErrorStatus(err) ? ` (HTTP ${s3ErrorStatus(err)})` : ''}: ${causeText(err)}`,
    { cause: err },
  );
}

/** Create the bucket unless it exists; safe to call from several processes at once. */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  const service = s3ServiceName(client);
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (!isS3NotFound(err)) throw wrapS3Error(err, service, `checking bucket "${bucket}"`);
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    // Another process won the race to create it.
    if (s3ErrorName(err) === 'BucketAlreadyOwnedByYou') return;
    if (s3ErrorName(err) === 'BucketAlreadyExists') {
      throw new MlcycleError(
        'CONFIG_INVALID',
        `${service}: bucket "${bucket}" exists but belongs to another account; set MLCYCLE_S3_BUCKET to a different name`,
        { cause: err },
      );
    }
    throw wrapS3Error(err, service, `creating bucket "${bucket}"`);
  }
}

/**
 * Fail fast, with a message naming the store and its endpoint, when S3 cannot be used at all.
 * A missing bucket is fine here (ensureBucket creates it); an unreachable endpoint or rejected
 * credentials are not.
 */
export async function checkS3Reachable(client: S3Client, settings: S3Settings): Promise<void> {
  const service = describeS3Service(settings);
  try {
    await client.send(new HeadBucketCommand({ Bucket: settings.bucket }));
  } catch (err) {
    if (isS3NotFound(err)) return;
    const detailed = s3ErrorStatus(err) === 403 ? await explainForbidden(client, settings.bucket, err) : err;
    throw wrapS3Error(detailed, service, `checking bucket "${settings.bucket}"`);
  }
}

/**
 * A HEAD 403 carries no body, so it cannot tell a wrong key from a wrong secret from a policy
 * denial; a GET-style request on the same bucket returns the S3 error code that does.
 */
async function explainForbidden(client: S3Client, bucket: string, headError: unknown): Promise<unknown> {
  try {
    await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
    return headError;
  } catch (err) {
    return s3ErrorStatus(err) === 403 ? err : headError;
  }
}

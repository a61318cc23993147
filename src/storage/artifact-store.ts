import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { MlcycleError } from '../errors';
import { isS3NotFound, s3ErrorName, s3ErrorStatus, s3ServiceName, wrapS3Error } from './s3-client';

/** A stored, content-addressed object. `uri` is s3://bucket/key. */
export interface ArtifactRef {
  uri: string;
  sha256: string;
  size: number;
}

/**
 * Content-addressed objects: immutable, stored under a key derived from their sha256, so the same
 * bytes are stored once and every read can be verified. Artifacts (datasets, models, reports).
 */
export interface ContentStore {
  /** The same bytes are stored once, under a key derived from their sha256. */
  putFile(localPath: string, opts?: { contentType?: string }): Promise<ArtifactRef>;
  /** Content-addressed upload of a stream of unknown length. */
  putStream(body: Readable, opts?: { contentType?: string }): Promise<ArtifactRef>;
  putBytes(body: Buffer | string, opts?: { contentType?: string }): Promise<ArtifactRef>;
  putJson(value: unknown): Promise<ArtifactRef>;
  /**
   * The object's bytes. When the sha256 is known (from the ref, the content key or the object's
   * metadata) the stream fails with ARTIFACT_INTEGRITY at its end if the bytes do not match.
   */
  getStream(ref: ArtifactRef | string): Promise<Readable>;
  /** Writes atomically: on any failure, integrity included, no file (partial or not) is left. */
  getToFile(ref: ArtifactRef | string, localPath: string): Promise<void>;
  getBytes(ref: ArtifactRef | string): Promise<Buffer>;
  getJson<T = unknown>(ref: ArtifactRef | string): Promise<T>;
  exists(ref: ArtifactRef | string): Promise<boolean>;
}

/**
 * Named objects: mutable, under fixed keys relative to the store prefix, with an exclusive
 * conditional create. Records (the registry, deployment records, trust records, step cache,
 * prediction logs).
 */
export interface NamedStore {
  /**
   * A mutable object under a fixed key (relative to the store prefix). With `ifNoneMatch` the
   * write only happens when no object exists yet; `created` is false when one did.
   */
  putNamed(
    key: string,
    body: Buffer | string,
    opts?: { contentType?: string; ifNoneMatch?: boolean },
  ): Promise<{ uri: string; etag?: string; created: boolean }>;
  /** undefined when no object exists under the key. */
  getNamed(key: string): Promise<Buffer | undefined>;
  /** Every key under `prefix`, relative to the store prefix. */
  listNamed(prefix: string): Promise<string[]>;
  uriForKey(key: string): string;
}

/** Both kinds of object in one bucket and prefix: what createArtifactStore returns. */
export interface ArtifactStore extends ContentStore, NamedStore {}

/** Knobs for tests; the defaults suit production. */
export interface ArtifactStoreTuning {
  /** Upload part size for streams of unknown length (lib-storage buffers queueSize × this). */
  partSize?: number;
  /** Objects above this size are copied with UploadPartCopy; S3 refuses CopyObject above 5 GiB. */
  multipartCopyThreshold?: number;
  copyPartSize?: number;
  listPageSize?: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const QUEUE_SIZE = 4;
const DEFAULT_PART_SIZE = 16 * MiB;
/** S3 allows at most 10,000 parts per multipart upload. */
const MAX_PARTS = 10_000;
const MAX_SINGLE_COPY = 5 * GiB;
const DEFAULT_COPY_PART_SIZE = 512 * MiB;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const CONTENT_KEY = /(?:^|\/)artifacts\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

function normalizePrefix(prefix: string): string {
  if (prefix.startsWith('/')) {
    throw new MlcycleError('USAGE', `invalid S3 key prefix "${prefix}": must not start with "/"`);
  }
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** Fanning out by the first two hex digits keeps listings of any one "directory" short. */
export function contentKey(prefix: string, sha256: string): string {
  if (!SHA256_HEX.test(sha256)) {
    throw new MlcycleError('USAGE', `invalid sha256 "${sha256}": expected 64 lowercase hex digits`);
  }
  return `${normalizePrefix(prefix)}artifacts/sha256/${sha256.slice(0, 2)}/${sha256}`;
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  const bucket = match?.[1];
  const key = match?.[2];
  if (!bucket || !key) {
    throw new MlcycleError('USAGE', `invalid S3 URI "${uri}": expected s3://bucket/key`);
  }
  if (!BUCKET_NAME.test(bucket)) {
    throw new MlcycleError('USAGE', `invalid S3 URI "${uri}": "${bucket}" is not a valid bucket name`);
  }
  return { bucket, key };
}

/** Passes bytes through while hashing and counting them. */
class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Passes bytes through, counting them. */
class CountingStream extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** What changes whenever a file's bytes do: its inode, size, and change time. */
interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

async function fileIdentity(localPath: string): Promise<FileIdentity> {
  try {
    const st = await stat(localPath, { bigint: true });
    return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
  } catch (err) {
    throw localFileError(err, `reading ${localPath}`);
  }
}

function sameIdentity(a: FileIdentity, b: FileIdentity | undefined): boolean {
  return b !== undefined && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/** A HashingStream that fails at the end when the bytes are not the expected ones. */
class VerifyingStream extends HashingStream {
  constructor(
    private readonly uri: string,
    private readonly expectedSha256: string,
    private readonly expectedSize: number | undefined,
  ) {
    super();
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.digest();
    if (actual !== this.expectedSha256 || (this.expectedSize !== undefined && this.bytes !== this.expectedSize)) {
      callback(
        new MlcycleError(
          'ARTIFACT_INTEGRITY',
          `artifact ${this.uri} is corrupt: expected sha256 ${this.expectedSha256}` +
            `${this.expectedSize !== undefined ? ` (${this.expectedSize} bytes)` : ''}, ` +
            `got ${actual} (${this.bytes} bytes)`,
        ),
      );
      return;
    }
    callback();
  }
}

/** Pipes `source` into `target`, forwarding a source failure and remembering it. */
function feed<T extends Transform>(source: Readable, target: T): { target: T; sourceError: () => unknown } {
  let failure: unknown;
  source.once('error', (err) => {
    failure = err;
    target.destroy(err);
  });
  source.pipe(target);
  return { target, sourceError: () => failure };
}

function localFileError(err: unknown, action: string): MlcycleError {
  if (err instanceof MlcycleError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new MlcycleError(code === 'ENOENT' ? 'NOT_FOUND' : 'USAGE', `${action} failed: ${message}`, { cause: err });
}

// Large reads: the dedupe hash pass is the store's only cost over a raw upload, and 1 MiB chunks
// hash a 1 GiB file about twice as fast as the 64 KiB default.
const HASH_CHUNK = 1024 * 1024;

/** sha256 and size of a local file, read once in 1 MiB chunks (the store's dedupe hash; ingest's dataset version). */
export async function hashFile(localPath: string): Promise<{ sha256: string; size: number }> {
  const hasher = new HashingStream();
  try {
    await pipeline(createReadStream(localPath, { highWaterMark: HASH_CHUNK }), hasher, async (chunks: AsyncIterable<Buffer>) => {
      for await (const _ of chunks) {
        // drain: only the hash is wanted
      }
    });
  } catch (err) {
    throw localFileError(err, `reading ${localPath}`);
  }
  return { sha256: hasher.digest(), size: hasher.bytes };
}

interface Located {
  bucket: string;
  key: string;
  uri: string;
  sha256?: string;
  size?: number;
}

export function createArtifactStore(deps: {
  client: S3Client;
  bucket: string;
  prefix?: string;
  tuning?: ArtifactStoreTuning;
}): ArtifactStore {
  const { client, bucket } = deps;
  const prefix = normalizePrefix(deps.prefix ?? '');
  const service = s3ServiceName(client);
  const partSize = Math.max(5 * MiB, deps.tuning?.partSize ?? DEFAULT_PART_SIZE);
  const multipartCopyThreshold = Math.min(MAX_SINGLE_COPY, deps.tuning?.multipartCopyThreshold ?? MAX_SINGLE_COPY);
  const copyPartSize = Math.max(5 * MiB, deps.tuning?.copyPartSize ?? DEFAULT_COPY_PART_SIZE);
  const listPageSize = deps.tuning?.listPageSize ?? 1000;

  const uriOf = (b: string, key: string): string => `s3://${b}/${key}`;

  function namedKey(key: string): string {
    if (key === '' || key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
      throw new MlcycleError('USAGE', `invalid object key "${key}": expected non-empty path segments like "runs/r1.json"`);
    }
    return `${prefix}${key}`;
  }

  function locate(ref: ArtifactRef | string): Located {
    const uri = typeof ref === 'string' ? ref : ref.uri;
    const { bucket: b, key } = parseS3Uri(uri);
    const located: Located = { bucket: b, key, uri };
    // A bare URI of a content key still names the hash it must have.
    const sha256 = typeof ref === 'string' ? CONTENT_KEY.exec(key)?.[1] : ref.sha256;
    if (sha256) located.sha256 = sha256;
    if (typeof ref !== 'string') located.size = ref.size;
    return located;
  }

  async function objectExists(b: string, key: string): Promise<boolean> {
    try {
      await client.send(new HeadObjectCommand({ Bucket: b, Key: key }));
      return true;
    } catch (err) {
      if (isS3NotFound(err) && s3ErrorName(err) !== 'NoSuchBucket') return false;
      throw wrapS3Error(err, service, `checking ${uriOf(b, key)}`);
    }
  }

  /** Streams `body` to `key`; fails with the source's own error when the source is what broke. */
  async function upload(
    key: string,
    body: Readable,
    sourceError: () => unknown,
    params: { contentType?: string; metadata?: Record<string, string>; partSize?: number },
  ): Promise<void> {
    const uploader = new Upload({
      client,
      params: {
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: params.contentType ?? DEFAULT_CONTENT_TYPE,
        ...(params.metadata ? { Metadata: params.metadata } : {}),
      },
      queueSize: QUEUE_SIZE,
      partSize: params.partSize ?? partSize,
      leavePartsOnError: false,
    });
    try {
      await uploader.done();
    } catch (err) {
      const failure = sourceError();
      if (failure !== undefined) {
        if (failure instanceof MlcycleError) throw failure;
        throw new MlcycleError(
          'DATA_INVALID',
          `reading the input failed while uploading to ${uriOf(bucket, key)}: ${failure instanceof Error ? failure.message : String(failure)}`,
          { cause: failure },
        );
      }
      throw wrapS3Error(err, service, `uploading ${uriOf(bucket, key)}`);
    }
  }

  async function multipartCopy(
    sourceKey: string,
    targetKey: string,
    size: number,
    contentType: string,
    metadata: Record<string, string>,
  ): Promise<void> {
    const copySource = copySourceOf(bucket, sourceKey);
    const created = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: targetKey, ContentType: contentType, Metadata: metadata }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new MlcycleError('SERVICE_UNREACHABLE', `${service} returned no UploadId for ${uriOf(bucket, targetKey)}`);
    try {
      const part = Math.max(copyPartSize, Math.ceil(size / MAX_PARTS));
      const ranges: { partNumber: number; start: number; end: number }[] = [];
      for (let start = 0, n = 1; start < size; start += part, n++) {
        ranges.push({ partNumber: n, start, end: Math.min(size, start + part) - 1 });
      }
      const parts: CompletedPart[] = new Array<CompletedPart>(ranges.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < ranges.length; i = next++) {
          const r = ranges[i]!;
          const out = await client.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: targetKey,
              UploadId: uploadId,
              PartNumber: r.partNumber,
              CopySource: copySource,
              CopySourceRange: `bytes=${r.start}-${r.end}`,
            }),
          );
          parts[i] = { PartNumber: r.partNumber, ETag: out.CopyPartResult?.ETag };
        }
      };
      await Promise.all(Array.from({ length: Math.min(QUEUE_SIZE, ranges.length) }, worker));
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: targetKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      // Unfinished multipart uploads are billed storage that no listing shows.
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: targetKey, UploadId: uploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  async function openObject(located: Located): Promise<Readable | undefined> {
    let response;
    try {
      response = await client.send(new GetObjectCommand({ Bucket: located.bucket, Key: located.key }));
    } catch (err) {
      if (s3ErrorName(err) === 'NoSuchKey' || (s3ErrorStatus(err) === 404 && s3ErrorName(err) !== 'NoSuchBucket')) {
        return undefined;
      }
      throw wrapS3Error(err, service, `downloading ${located.uri}`);
    }
    const body = response.Body;
    if (!(body instanceof Readable)) {
      throw new MlcycleError('SERVICE_UNREACHABLE', `${service} returned no body for ${located.uri}`);
    }
    const sha256 = located.sha256 ?? response.Metadata?.['sha256'];
    if (!sha256) return body;
    return feed(body, new VerifyingStream(located.uri, sha256, located.size)).target;
  }

  async function getStream(ref: ArtifactRef | string): Promise<Readable> {
    const located = locate(ref);
    const stream = await openObject(located);
    if (!stream) throw new MlcycleError('NOT_FOUND', `no artifact at ${located.uri}`);
    return stream;
  }

  /** Integrity failures pass through; anything else the download stream threw is the store's fault. */
  function downloadError(err: unknown, uri: string): MlcycleError {
    return wrapS3Error(err, service, `downloading ${uri}`);
  }

  async function readAll(stream: Readable, uri: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    } catch (err) {
      throw downloadError(err, uri);
    }
    return Buffer.concat(chunks);
  }

  const store: ArtifactStore = {
    async putFile(localPath, opts) {
      const before = await fileIdentity(localPath);
      const { sha256, size } = await hashFile(localPath);
      const key = contentKey(prefix, sha256);
      const ref: ArtifactRef = { uri: uriOf(bucket, key), sha256, size };
      if (await objectExists(bucket, key)) return ref;
      const { target, sourceError } = feed(createReadStream(localPath, { highWaterMark: HASH_CHUNK }), new CountingStream());
      await upload(key, target, sourceError, {
        contentType: opts?.contentType,
        metadata: { sha256 },
        partSize: Math.max(partSize, Math.ceil(size / MAX_PARTS)),
      });
      // Hashing and uploading are two reads; a file rewritten in between would leave wrong bytes
      // under this content key, which every later reader would then reject. Any write to the file
      // moves its ctime (which, unlike mtime, no caller can set back), so comparing the file's
      // identity before and after catches that without hashing every byte a second time.
      if (target.bytes !== size || !sameIdentity(before, await fileIdentity(localPath).catch(() => undefined))) {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
        throw new MlcycleError('DATA_INVALID', `${localPath} changed while it was being uploaded; try again`);
      }
      return ref;
    },

    async putStream(body, opts) {
      // The content key is only known once every byte has been seen, so the bytes go to a staging
      // key first and are copied server-side afterwards.
      const stagingKey = `${prefix}staging/${randomUUID()}`;
      const { target, sourceError } = feed(body, new HashingStream());
      await upload(stagingKey, target, sourceError, { contentType: opts?.contentType });
      const sha256 = target.digest();
      const size = target.bytes;
      const key = contentKey(prefix, sha256);
      const contentType = opts?.contentType ?? DEFAULT_CONTENT_TYPE;
      try {
        if (!(await objectExists(bucket, key))) {
          if (size > multipartCopyThreshold) {
            await multipartCopy(stagingKey, key, size, contentType, { sha256 });
          } else {
            await client.send(
              new CopyObjectCommand({
                Bucket: bucket,
                Key: key,
                CopySource: copySourceOf(bucket, stagingKey),
                MetadataDirective: 'REPLACE',
                ContentType: contentType,
                Metadata: { sha256 },
              }),
            );
          }
        }
      } catch (err) {
        throw wrapS3Error(err, service, `copying ${uriOf(bucket, stagingKey)} to ${uriOf(bucket, key)}`);
      } finally {
        // Best effort: a leftover staging object wastes space but breaks nothing.
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: stagingKey })).catch(() => undefined);
      }
      return { uri: uriOf(bucket, key), sha256, size };
    },

    async putBytes(body, opts) {
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const key = contentKey(prefix, sha256);
      const ref: ArtifactRef = { uri: uriOf(bucket, key), sha256, size: bytes.length };
      if (await objectExists(bucket, key)) return ref;
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: bytes,
            ContentLength: bytes.length,
            ContentType: opts?.contentType ?? DEFAULT_CONTENT_TYPE,
            Metadata: { sha256 },
          }),
        );
      } catch (err) {
        throw wrapS3Error(err, service, `uploading ${ref.uri}`);
      }
      return ref;
    },

    async putJson(value) {
      const text = JSON.stringify(value);
      if (text === undefined) {
        throw new MlcycleError('USAGE', `cannot store ${typeof value} as JSON`);
      }
      return store.putBytes(text, { contentType: 'application/json' });
    },

    getStream,

    async getToFile(ref, localPath) {
      const located = locate(ref);
      const target = path.resolve(localPath);
      const dir = path.dirname(target);
      // Same directory, so the final rename is atomic and never crosses file systems.
      const temp = path.join(dir, `.${path.basename(target)}.${randomBytes(6).toString('hex')}.partial`);
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        throw localFileError(err, `creating ${dir}`);
      }
      const stream = await getStream(ref);
      // pipeline() destroys the file stream with the download's error too, so the file stream's
      // 'error' alone does not say which side failed: a connection cut mid-body must stay a
      // (retryable) store failure, not become a local write failure.
      let readFailed = false;
      let writeFailed = false;
      stream.once('error', () => {
        readFailed = true;
      });
      const out = createWriteStream(temp, { flags: 'wx' });
      out.once('error', () => {
        writeFailed = !readFailed;
      });
      try {
        await pipeline(stream, out);
        await rename(temp, target);
      } catch (err) {
        // An open still in flight would otherwise create the file after we removed it.
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
        await rm(temp, { force: true });
        if (writeFailed) throw localFileError(err, `writing ${target}`);
        throw downloadError(err, located.uri);
      }
    },

    async getBytes(ref) {
      const stream = await getStream(ref);
      return readAll(stream, locate(ref).uri);
    },

    async getJson<T = unknown>(ref: ArtifactRef | string): Promise<T> {
      const bytes = await store.getBytes(ref);
      try {
        return JSON.parse(bytes.toString('utf8')) as T;
      } catch (err) {
        throw new MlcycleError('DATA_INVALID', `${locate(ref).uri} is not valid JSON: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },

    async exists(ref) {
      const located = locate(ref);
      return objectExists(located.bucket, located.key);
    },

    async putNamed(key, body, opts) {
      const fullKey = namedKey(key);
      const uri = uriOf(bucket, fullKey);
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      // S3 answers 409 to a conditional write racing another one on the same key; retrying
      // resolves it into either success or 412.
      for (let attempt = 1; ; attempt++) {
        try {
          const out = await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: fullKey,
              Body: bytes,
              ContentLength: bytes.length,
              ContentType: opts?.contentType ?? DEFAULT_CONTENT_TYPE,
              Metadata: { sha256 },
              ...(opts?.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
            }),
          );
          return { uri, created: true, ...(out.ETag ? { etag: out.ETag } : {}) };
        } catch (err) {
          if (opts?.ifNoneMatch && (s3ErrorStatus(err) === 412 || s3ErrorName(err) === 'PreconditionFailed')) {
            return { uri, created: false };
          }
          if (opts?.ifNoneMatch && s3ErrorStatus(err) === 409 && attempt < 5) {
            await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
            continue;
          }
          throw wrapS3Error(err, service, `writing ${uri}`);
        }
      }
    },

    async getNamed(key) {
      const located = locate(uriOf(bucket, namedKey(key)));
      const stream = await openObject(located);
      return stream ? readAll(stream, located.uri) : undefined;
    },

    async listNamed(listPrefix) {
      if (listPrefix.startsWith('/')) {
        throw new MlcycleError('USAGE', `invalid key prefix "${listPrefix}": must not start with "/"`);
      }
      const keys: string[] = [];
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: `${prefix}${listPrefix}`,
              MaxKeys: listPageSize,
              ...(token ? { ContinuationToken: token } : {}),
            }),
          );
        } catch (err) {
          throw wrapS3Error(err, service, `listing s3://${bucket}/${prefix}${listPrefix}`);
        }
        for (const object of page.Contents ?? []) {
          if (object.Key !== undefined) keys.push(object.Key.slice(prefix.length));
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    },

    uriForKey(key) {
      return uriOf(bucket, namedKey(key));
    },
  };
  return store;
}

/** CopySource is "bucket/key" with the key URL-encoded, slashes kept. */
function copySourceOf(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

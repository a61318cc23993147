/**
 * Credentials of the embedded MinIO, generated once per state folder and kept there owner-only
 * (`minio-credentials.json`, 0600): a constant in the source would open every developer's MinIO to
 * anyone who can reach its port. The state folder itself is made owner-only (0700), which also
 * covers the dev server's `temporal.db` and MinIO's data files.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { MlcycleError } from '../errors';

export const CREDENTIALS_FILE = 'minio-credentials.json';
const CredentialsSchema = z.object({ accessKeyId: z.string().min(3), secretAccessKey: z.string().min(8) }).strict();
export type EmbeddedCredentials = z.infer<typeof CredentialsSchema>;

/** Credentials a state folder created before they were generated was started with. */
const LEGACY = { accessKeyId: 'mlcycle', secretAccessKey: 'mlcycle-dev-secret' } as const;

/** Creates the state folder owner-only, or tightens an existing one. */
export function secureStateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

export function readEmbeddedCredentials(dir: string): EmbeddedCredentials | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, CREDENTIALS_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = CredentialsSchema.safeParse((() => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  })());
  if (!parsed.success) throw new MlcycleError('CONFIG_INVALID', `${path.join(dir, CREDENTIALS_FILE)}: not valid MinIO credentials; delete it (and the minio folder) to start afresh`);
  return parsed.data;
}

/**
 * The folder's credentials, created on first use: random for a new folder; for a MinIO data
 * folder made before generated credentials, the values it was created with (changing a MinIO's
 * root credentials under existing data locks it out of its own configuration).
 */
export function ensureEmbeddedCredentials(dir: string): EmbeddedCredentials {
  secureStateDir(dir);
  const existing = readEmbeddedCredentials(dir);
  if (existing) return existing;
  const creds: EmbeddedCredentials = fs.existsSync(path.join(dir, 'minio'))
    ? { ...LEGACY }
    : { accessKeyId: `mlcycle-${randomBytes(4).toString('hex')}`, secretAccessKey: randomBytes(24).toString('base64url') };
  const file = path.join(dir, CREDENTIALS_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(creds, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return creds;
}

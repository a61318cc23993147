import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { stateDir, type Env } from '../config/env';
import { MlcycleError } from '../errors';

const keyId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a key id of 1-64 letters, digits, . _ -');
const aes256Key = z
  .string()
  .refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, 'expected 32 bytes in base64 (an AES-256 key)');

/**
 * The key file: every key that may still be needed to read old histories, and the one new payloads
 * are encrypted with. Rotation adds a key and makes it active; old keys stay for decoding.
 */
export const KeyringFileSchema = z
  .object({
    active: keyId,
    keys: z.record(keyId, aes256Key).refine((k) => Object.keys(k).length > 0, 'must hold at least one key'),
  })
  .strict()
  .refine((f) => f.active in f.keys, { message: 'must name one of the ids under "keys"', path: ['active'] });
export type KeyringFile = z.infer<typeof KeyringFileSchema>;

export interface Keyring {
  activeId: string;
  keys: ReadonlyMap<string, Buffer>;
  /** Where the keys came from, for messages (never the key material). */
  source: string;
}

function parseKeyringFile(json: unknown, source: string): KeyringFile {
  const result = KeyringFileSchema.safeParse(json);
  if (!result.success) {
    throw new MlcycleError('CONFIG_INVALID', `invalid codec keys in ${source}:\n${formatIssues(result.error)}`);
  }
  return result.data;
}

export function parseKeyring(json: unknown, source: string): Keyring {
  const file = parseKeyringFile(json, source);
  return {
    activeId: file.active,
    keys: new Map(Object.entries(file.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')])),
    source,
  };
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new MlcycleError('CONFIG_INVALID', `invalid codec keys in ${source}: not JSON (${(err as Error).message})`);
  }
}

/** The default key file of a project: what `mlcycle dev` creates and every command there finds. */
export function defaultKeyFile(env: Env, cwd = process.cwd()): string {
  return path.join(stateDir(env, cwd), 'codec-keys.json');
}

/** The key file this environment names: MLCYCLE_CODEC_KEY_FILE, else `codec-keys.json` in the state folder. */
export function keyFilePath(env: Env, opts: { stateDir?: string; cwd?: string } = {}): string {
  const cwd = opts.cwd ?? process.cwd();
  if (env.MLCYCLE_CODEC_KEY_FILE) return path.resolve(cwd, env.MLCYCLE_CODEC_KEY_FILE);
  return opts.stateDir ? path.join(path.resolve(cwd, opts.stateDir), 'codec-keys.json') : defaultKeyFile(env, cwd);
}

/**
 * Keys from MLCYCLE_CODEC_KEYS (inline JSON), else MLCYCLE_CODEC_KEY_FILE, else the project's
 * default key file when it exists. Undefined means payloads are written in plaintext.
 */
export function loadKeyring(env: Env, cwd = process.cwd()): Keyring | undefined {
  if (env.MLCYCLE_CODEC_KEYS) return parseKeyring(parseJson(env.MLCYCLE_CODEC_KEYS, 'MLCYCLE_CODEC_KEYS'), 'MLCYCLE_CODEC_KEYS');
  const file = keyFilePath(env, { cwd });
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !env.MLCYCLE_CODEC_KEY_FILE) return undefined;
    throw new MlcycleError('CONFIG_INVALID', `MLCYCLE_CODEC_KEY_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  return parseKeyring(parseJson(text, file), file);
}

export function newKeyId(existing: Iterable<string> = []): string {
  const taken = new Set(existing);
  for (let n = taken.size + 1; ; n++) {
    const id = `k${n}`;
    if (!taken.has(id)) return id;
  }
}

export function generateKeyringFile(): KeyringFile {
  const id = newKeyId();
  return { active: id, keys: { [id]: randomBytes(32).toString('base64') } };
}

/** A new active key; the old ones stay so histories written with them can still be read. */
export function rotateKeyringFile(file: KeyringFile): KeyringFile {
  const id = newKeyId(Object.keys(file.keys));
  return { active: id, keys: { ...file.keys, [id]: randomBytes(32).toString('base64') } };
}

/** Written owner-only and atomically, so a crash never leaves half a key file. */
export async function writeKeyringFile(target: string, file: KeyringFile): Promise<void> {
  KeyringFileSchema.parse(file);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await fsp.rename(tmp, target);
}

export async function readKeyringFile(target: string): Promise<KeyringFile> {
  return parseKeyringFile(parseJson(await fsp.readFile(target, 'utf8'), target), target);
}

/** The project's key file, created on first use: `mlcycle dev` encrypts by default. */
export async function ensureKeyFile(target: string): Promise<{ created: boolean }> {
  if (fs.existsSync(target)) return { created: false };
  await writeKeyringFile(target, generateKeyringFile());
  return { created: true };
}

/**
 * Approvers' private keys: Ed25519 in PKCS#8 PEM (so standard tools read them), owner-only files.
 * Signing happens on the approver's machine; only the statement and signature travel.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MlcycleError } from '../errors';
import { ApproverNameSchema, canonicalStatement, PUBLIC_KEY_PREFIX, STATEMENT_TYPE, type ApprovalStatement, type SignedVote } from './signed-vote';

/** `$XDG_CONFIG_HOME/mlcycle/approvers/<name>.key`, else `~/.config/mlcycle/approvers/<name>.key`. */
export function defaultApproverKeyFile(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'mlcycle', 'approvers', `${name}.key`);
}

export function checkApproverName(name: string): string {
  const r = ApproverNameSchema.safeParse(name);
  if (!r.success) throw new MlcycleError('USAGE', `approver name ${JSON.stringify(name)}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

/** `ed25519:<base64>` of a key object's raw 32-byte public key. */
export function publicKeyText(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new MlcycleError('CONFIG_INVALID', 'not an Ed25519 key');
  return PUBLIC_KEY_PREFIX + Buffer.from(jwk.x, 'base64url').toString('base64');
}

/** A new key pair; the private key written owner-only (0600), refusing to overwrite one. */
export async function generateApproverKey(file: string): Promise<{ file: string; publicKey: string }> {
  if (fs.existsSync(file)) throw new MlcycleError('USAGE', `approvers keygen: ${file} already exists; refusing to overwrite a private key`);
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, pem, { mode: 0o600, flag: 'wx' });
  await fsp.rename(tmp, file);
  return { file, publicKey: publicKeyText(privateKey) };
}

export function loadApproverKey(file: string): KeyObject {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MlcycleError('USAGE', `--key: cannot read ${file}: ${(err as Error).message} (create one with mlcycle approvers keygen)`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    throw new MlcycleError('USAGE', `--key: ${file} is not a private key in PEM: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new MlcycleError('USAGE', `--key: ${file} holds a ${key.asymmetricKeyType} key, expected Ed25519`);
  return key;
}

export type StatementFields = Omit<ApprovalStatement, 'type' | 'at'> & { at?: string };

/** Builds the canonical statement for these fields and signs it. */
export function signVote(key: KeyObject, fields: StatementFields): SignedVote {
  const statement = canonicalStatement({ type: STATEMENT_TYPE, ...fields, at: fields.at ?? new Date().toISOString() });
  return { statement, signature: sign(null, Buffer.from(statement, 'utf8'), key).toString('base64') };
}

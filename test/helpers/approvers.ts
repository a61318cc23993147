import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { publicKeyText, signVote, type StatementFields } from '../../src/approval/approver-keys';
import { createTrustRecords } from '../../src/registry/trust-records';
import type { ArtifactStore } from '../../src/storage/artifact-store';
import type { SignedVote } from '../../src/approval/signed-vote';

/** Fresh Ed25519 keys for `names`, registered in the store's approver directory (as an administrator would). */
export async function registerApprovers(store: ArtifactStore, names: readonly string[]): Promise<Map<string, KeyObject>> {
  const trust = createTrustRecords({ store });
  const keys = new Map<string, KeyObject>();
  for (const name of names) {
    const { privateKey } = generateKeyPairSync('ed25519');
    await trust.addApprover(name, publicKeyText(privateKey), 'test-admin');
    keys.set(name, privateKey);
  }
  return keys;
}

export function newKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

export function sign(key: KeyObject, fields: StatementFields): SignedVote {
  return signVote(key, fields);
}

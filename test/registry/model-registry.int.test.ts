/**
 * The registry against the real MinIO started by test/global-setup.ts: its integrity rests on
 * MinIO really making conditional creates exclusive, which only the real server can show. Each
 * test works under its own random key prefix.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Client } from '@aws-sdk/client-s3';
import { createModelRegistry, type Lineage, type ModelRegistry, type RegisterInput } from '../../src/registry/model-registry';
import { createArtifactStore, type ArtifactStore } from '../../src/storage/artifact-store';
import { createS3Client, ensureBucket } from '../../src/storage/s3-client';

import { expectMlcycleError, stackS3Settings } from '../helpers/stack-s3';

const settings = stackS3Settings();

let client: S3Client;

beforeAll(async () => {
  client = createS3Client(settings);
  await ensureBucket(client, settings.bucket);
});

afterAll(() => {
  client?.destroy();
});

function fresh(): { store: ArtifactStore; registry: ModelRegistry } {
  const store = createArtifactStore({ client, bucket: settings.bucket, prefix: `it-registry/${randomUUID()}/` });
  return { store, registry: createModelRegistry({ store }) };
}

function lineage(over: Partial<Lineage> = {}): Lineage {
  return {
    datasetSha256: createHash('sha256').update('dataset').digest('hex'),
    datasetUri: 's3://mlcycle/artifacts/sha256/00/data',
    manifestUri: 's3://mlcycle/manifest.json',
    codeVersion: 'abc123',
    trainer: 'random-forest',
    params: { trees: 50, depth: 8 },
    workflowId: 'wf-1',
    runId: 'run-1',
    ...over,
  };
}

function input(key: string, over: Partial<RegisterInput> = {}): RegisterInput {
  return {
    name: 'churn',
    modelUri: `s3://mlcycle/models/${key}`,
    metrics: { auc: 0.8 },
    lineage: lineage(),
    reports: { evaluation: 's3://mlcycle/reports/eval.html' },
    actor: 'workflow:wf-1',
    idempotencyKey: key,
    ...over,
  };
}

describe('model registry on MinIO', () => {
  it('relies on MinIO making a conditional create exclusive under concurrency', async () => {
    const { store } = fresh();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.putNamed('race/slot.json', `writer ${i}`, { ifNoneMatch: true })),
    );
    const winners = results.map((r, i) => (r.created ? i : -1)).filter((i) => i >= 0);
    expect(winners).toHaveLength(1);
    expect((await store.getNamed('race/slot.json'))?.toString()).toBe(`writer ${winners[0]}`);
  });

  it('numbers sequential registrations 1, 2, 3', async () => {
    const { registry } = fresh();
    const versions = [];
    for (const key of ['a', 'b', 'c']) versions.push((await registry.register(input(key))).version.version);
    expect(versions).toEqual([1, 2, 3]);
    const listed = await registry.listVersions('churn');
    expect(listed.map((v) => [v.version, v.modelUri])).toEqual([
      [1, 's3://mlcycle/models/a'],
      [2, 's3://mlcycle/models/b'],
      [3, 's3://mlcycle/models/c'],
    ]);
    expect(listed[0]?.lineage).toEqual(lineage());
    expect(await registry.listModels()).toEqual([{ name: 'churn', latestVersion: 3, aliases: {} }]);
  });

  it('gives 10 concurrent registrations 10 distinct consecutive versions', async () => {
    const { registry } = fresh();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => registry.register(input(`k${i}`))));
    expect(results.map((r) => r.version.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(results.every((r) => r.created)).toBe(true);
    const listed = await registry.listVersions('churn');
    expect(new Set(listed.map((v) => v.modelUri)).size).toBe(10);
    // Each registration is the version it was told it is.
    for (const r of results) expect(listed[r.version.version - 1]?.modelUri).toBe(r.version.modelUri);
  });

  it('is idempotent on retries, including duplicates that run at the same time', async () => {
    const { registry } = fresh();
    const first = await registry.register(input('wf-1/run-1'));
    expect(await registry.register(input('wf-1/run-1'))).toEqual({ version: first.version, created: false });
    const dups = await Promise.all([
      ...Array.from({ length: 4 }, () => registry.register(input('wf-2/run-1'))),
      registry.register(input('wf-3/run-1')),
      ...Array.from({ length: 4 }, () => registry.register(input('wf-2/run-1'))),
    ]);
    const wf2 = dups.filter((r) => r.version.modelUri.endsWith('wf-2/run-1'));
    expect(new Set(wf2.map((r) => r.version.version)).size).toBe(1);
    expect(wf2.filter((r) => r.created)).toHaveLength(1);
    expect((await registry.listVersions('churn')).map((v) => v.version)).toEqual([1, 2, 3]);
  });

  it('creates no second version after a crash that left the version record written', async () => {
    const { store, registry } = fresh();
    await registry.register(input('before'));
    // The state a crash right after the version write leaves: the request's claim naming slot 2,
    // and slot 2 holding the version with the request's key, no audit entry, nothing else.
    const key = 'wf-7/run-1';
    const claims = `registry/churn/requests/${createHash('sha256').update(key).digest('hex')}/`;
    await store.putNamed(`${claims}000001.json`, JSON.stringify({ idempotencyKey: key, slot: 2, at: new Date().toISOString() }));
    const createdAt = new Date().toISOString();
    const record = {
      ...input(key),
      version: 2,
      createdAt,
      status: 'registered',
      registeredBy: 'workflow:wf-7',
    };
    delete (record as Partial<typeof record>).actor;
    await store.putNamed('registry/churn/versions/000002.json', JSON.stringify(record));

    const retry = await registry.register(input(key));
    expect([retry.version.version, retry.created, retry.version.createdAt]).toEqual([2, false, createdAt]);
    expect((await registry.listVersions('churn')).map((v) => v.version)).toEqual([1, 2]);
    expect((await registry.audit('churn')).map((e) => [e.action, e.version, e.actor])).toEqual([
      ['model.registered', 1, 'workflow:wf-1'],
      ['model.registered', 2, 'workflow:wf-7'],
    ]);
    // And a crash before the version write (claim only) costs no number: the retry takes it.
    const orphan = 'wf-8/run-1';
    const orphanClaims = `registry/churn/requests/${createHash('sha256').update(orphan).digest('hex')}/`;
    await store.putNamed(`${orphanClaims}000001.json`, JSON.stringify({ idempotencyKey: orphan, slot: 3, at: new Date().toISOString() }));
    expect((await registry.register(input('wf-9/run-1'))).version.version).toBe(3);
    const late = await registry.register(input(orphan));
    expect([late.version.version, late.created]).toEqual([4, true]);
  });

  it('sets, moves and rolls back an alias with history and audit', async () => {
    const { registry } = fresh();
    for (const k of ['a', 'b', 'c']) await registry.register(input(k));
    expect(await registry.setAlias('churn', 'production', 1, { actor: 'alice', reason: 'launch' })).toEqual({
      moved: true,
      previous: null,
    });
    expect(await registry.setAlias('churn', 'production', 3, { actor: 'bob', idempotencyKey: 'promote-3' })).toEqual({
      moved: true,
      previous: 1,
    });
    expect(await registry.setAlias('churn', 'production', 3, { actor: 'bob', idempotencyKey: 'promote-3' })).toEqual({
      moved: false,
      previous: 1,
    });
    await registry.setAlias('churn', 'staging', 2, { actor: 'ci' });
    expect(await registry.getAliases('churn')).toEqual({ production: 3, staging: 2 });
    expect((await registry.resolveAlias('churn', 'production'))?.modelUri).toBe('s3://mlcycle/models/c');

    expect(await registry.rollbackAlias('churn', 'production', { actor: 'oncall', reason: 'regression' })).toEqual({
      from: 3,
      to: 1,
    });
    expect((await registry.resolveAlias('churn', 'production'))?.version).toBe(1);
    await expectMlcycleError(registry.rollbackAlias('churn', 'production', { actor: 'oncall' }), 'NOT_FOUND', 'no earlier version');

    const audit = await registry.audit('churn');
    expect(audit.filter((e) => e.alias === 'production').map((e) => [e.action, e.actor, e.from, e.to, e.detail?.['reason']])).toEqual([
      ['alias.set', 'alice', null, 1, 'launch'],
      ['alias.set', 'bob', 1, 3, undefined],
      ['alias.rollback', 'oncall', 3, 1, 'regression'],
    ]);
    expect(audit.map((e) => e.at)).toEqual([...audit.map((e) => e.at)].sort());
    expect(await registry.listModels()).toEqual([
      { name: 'churn', latestVersion: 3, aliases: { production: 1, staging: 2 } },
    ]);
  });

  it('lets exactly one of concurrent moves with the same expectedCurrent win', async () => {
    const { registry } = fresh();
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) await registry.register(input(k));
    await registry.setAlias('churn', 'production', 1, { actor: 'init' });
    const results = await Promise.all(
      [2, 3, 4, 5, 6, 2, 3, 4, 5, 6].map((v, i) =>
        registry.setAlias('churn', 'production', v, { actor: `approver-${i}`, expectedCurrent: 1, idempotencyKey: `decision-${i}` }),
      ),
    );
    expect(results.filter((r) => r.moved)).toHaveLength(1);
    const holder = (await registry.resolveAlias('churn', 'production'))?.version;
    expect(holder).not.toBe(1);
    for (const r of results) expect(r.previous).toBe(r.moved ? 1 : holder);
    expect((await registry.audit('churn')).filter((e) => e.action === 'alias.set')).toHaveLength(2);
  });

  it('names what is missing with NOT_FOUND', async () => {
    const { registry } = fresh();
    await registry.register(input('a'));
    await expectMlcycleError(registry.setAlias('churn', 'production', 9, { actor: 'a' }), 'NOT_FOUND', 'model "churn"', 'version 9');
    await expectMlcycleError(registry.setAlias('ghost', 'production', 1, { actor: 'a' }), 'NOT_FOUND', 'model "ghost"');
    await expectMlcycleError(registry.rollbackAlias('churn', 'production', { actor: 'a' }), 'NOT_FOUND', 'alias "production"');
    await expectMlcycleError(registry.listVersions('ghost'), 'NOT_FOUND', 'model "ghost"');
    await expectMlcycleError(registry.getAliases('ghost'), 'NOT_FOUND', 'model "ghost"');
    expect(await registry.getVersion('churn', 2)).toBeUndefined();
    expect(await registry.resolveAlias('churn', 'production')).toBeUndefined();
  });

  it('rejects bad names before writing anything', async () => {
    const { store, registry } = fresh();
    await expectMlcycleError(registry.register(input('a', { name: 'Bad Name' })), 'USAGE', 'name');
    await expectMlcycleError(registry.register(input('a', { name: '../escape' })), 'USAGE', 'name');
    await expectMlcycleError(registry.register(input('a', { lineage: lineage({ datasetSha256: 'x' }) })), 'USAGE', 'datasetSha256');
    await expectMlcycleError(registry.setAlias('churn', 'Production', 1, { actor: 'a' }), 'USAGE', 'alias name');
    await expectMlcycleError(registry.setAlias('churn', 'production', 0, { actor: 'a' }), 'USAGE', 'version 0');
    await expectMlcycleError(
      registry.appendAudit({ at: new Date().toISOString(), actor: 'a', action: 'x', model: 'No' }),
      'USAGE',
      'model',
    );
    expect(await store.listNamed('')).toEqual([]);
  });
});

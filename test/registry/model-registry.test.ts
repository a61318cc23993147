/**
 * The registry's logic on an in-memory store that honours the one primitive the registry relies on
 * (exclusive conditional create) and yields between operations, so concurrent calls interleave.
 * Crash windows are simulated by failing chosen writes. The same guarantees are checked against
 * the real MinIO in model-registry.int.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { publicKeyText, signVote } from '../../src/approval/approver-keys';
import { MlcycleError } from '../../src/errors';
import {
  createModelRegistry,
  type Lineage,
  type ModelRegistry,
  type RegisterInput,
} from '../../src/registry/model-registry';
import { createTrustRecords } from '../../src/registry/trust-records';
import type { NamedStore } from '../../src/storage/artifact-store';

type Fault = (op: 'put' | 'get' | 'list', key: string) => void;

interface MemoryStore extends NamedStore {
  objects: Map<string, Buffer>;
  /** Throws from inside an operation, before (put) it takes effect; return to let it through. */
  fault?: Fault;
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));

function memoryStore(): MemoryStore {
  const objects = new Map<string, Buffer>();
  const store: MemoryStore = {
    objects,
    async putNamed(key, body, opts) {
      await tick();
      store.fault?.('put', key);
      const uri = `s3://mem/${key}`;
      if (opts?.ifNoneMatch && objects.has(key)) return { uri, created: false };
      objects.set(key, Buffer.from(body));
      await tick();
      return { uri, created: true };
    },
    async getNamed(key) {
      await tick();
      store.fault?.('get', key);
      return objects.get(key);
    },
    async listNamed(prefix) {
      await tick();
      store.fault?.('list', prefix);
      return [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
    uriForKey: (key) => `s3://mem/${key}`,
  };
  return store;
}

/** A clock that advances 1 ms per reading, so entries have distinct, ordered times. */
function clock(start = Date.parse('2025-03-01T12:00:00.000Z')): () => Date {
  let t = start;
  return () => new Date(t++);
}

const SHA = 'a'.repeat(64);

function lineage(over: Partial<Lineage> = {}): Lineage {
  return {
    datasetSha256: SHA,
    datasetUri: 's3://b/artifacts/sha256/aa/data',
    manifestUri: 's3://b/manifest.json',
    codeVersion: 'abc123',
    trainer: 'logistic-regression',
    params: { learningRate: 0.1, epochs: 50 },
    workflowId: 'wf-1',
    runId: 'run-1',
    ...over,
  };
}

function input(key: string, over: Partial<RegisterInput> = {}): RegisterInput {
  return {
    name: 'churn',
    modelUri: `s3://b/models/${key}`,
    metrics: { auc: 0.81, accuracy: 0.77 },
    lineage: lineage(),
    reports: { evaluation: 's3://b/reports/eval.html' },
    actor: 'workflow:wf-1',
    idempotencyKey: key,
    ...over,
  };
}

function setup(): { store: MemoryStore; registry: ModelRegistry } {
  const store = memoryStore();
  return { store, registry: createModelRegistry({ store, now: clock() }) };
}

async function rejection(promise: Promise<unknown>): Promise<MlcycleError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MlcycleError);
  return err as MlcycleError;
}

async function expectError(promise: Promise<unknown>, code: MlcycleError['code'], ...mentions: string[]): Promise<void> {
  const err = await rejection(promise);
  expect(err.code).toBe(code);
  for (const m of mentions) expect(err.message).toContain(m);
}

/** Fails the first `times` puts whose key matches, as a crash at that point would. */
function crashOn(store: MemoryStore, pattern: RegExp, times = 1): void {
  let left = times;
  store.fault = (op, key) => {
    if (op === 'put' && pattern.test(key) && left > 0) {
      left--;
      throw new Error(`simulated crash before writing ${key}`);
    }
  };
}

async function versionsByKey(registry: ModelRegistry, store: MemoryStore, name: string): Promise<Map<string, number[]>> {
  const byKey = new Map<string, number[]>();
  for (const v of await registry.listVersions(name)) {
    const raw = JSON.parse(store.objects.get(`registry/${name}/versions/${String(v.version).padStart(6, '0')}.json`)!.toString());
    byKey.set(raw.idempotencyKey, [...(byKey.get(raw.idempotencyKey) ?? []), v.version]);
  }
  return byKey;
}

describe('register', () => {
  it('numbers versions 1, 2, 3 and reads them back as registered', async () => {
    const { registry } = setup();
    const a = await registry.register(input('k1'));
    const b = await registry.register(input('k2', { lineage: lineage({ parentVersion: 1, studyId: 's', trialId: 't' }) }));
    const c = await registry.register(input('k3'));
    expect([a, b, c].map((r) => [r.version.version, r.created])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    expect(a.version).toEqual({
      name: 'churn',
      version: 1,
      modelUri: 's3://b/models/k1',
      metrics: { auc: 0.81, accuracy: 0.77 },
      lineage: lineage(),
      reports: { evaluation: 's3://b/reports/eval.html' },
      createdAt: expect.stringMatching(/^2025-03-01T12:00:00\.\d{3}Z$/),
      status: 'registered',
    });
    // Internal bookkeeping stays internal.
    expect(Object.keys(a.version)).not.toContain('idempotencyKey');
    expect(await registry.getVersion('churn', 2)).toEqual(b.version);
    expect((await registry.listVersions('churn')).map((v) => v.version)).toEqual([1, 2, 3]);
    expect(await registry.getVersion('churn', 4)).toBeUndefined();
    expect(await registry.getVersion('nope', 1)).toBeUndefined();
  });

  it('returns the same version, created=false, when the same key registers again', async () => {
    const { registry } = setup();
    const first = await registry.register(input('wf-1/run-1'));
    const again = await registry.register(input('wf-1/run-1'));
    expect(again).toEqual({ version: first.version, created: false });
    // Even with different inputs: the key decides, the first registration stands.
    const other = await registry.register(input('wf-1/run-1', { modelUri: 's3://b/other' }));
    expect(other.version.modelUri).toBe('s3://b/models/wf-1/run-1');
    expect((await registry.listVersions('churn')).length).toBe(1);
    // One audit entry, however many times it was asked.
    expect((await registry.audit('churn')).filter((e) => e.action === 'model.registered')).toHaveLength(1);
  });

  it('gives 20 concurrent registrations 20 distinct consecutive versions', async () => {
    const { store, registry } = setup();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => registry.register(input(`k${i}`))));
    expect(results.map((r) => r.version.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(results.every((r) => r.created)).toBe(true);
    for (const r of results) expect(r.version.modelUri).toBe(`s3://b/models/${r.version.modelUri.split('/').pop()}`);
    const byKey = await versionsByKey(registry, store, 'churn');
    expect([...byKey.values()].every((v) => v.length === 1)).toBe(true);
  });

  it('puts a key into exactly one version when duplicates race each other and strangers', async () => {
    const { store, registry } = setup();
    const calls = [
      ...Array.from({ length: 6 }, () => registry.register(input('dup'))),
      ...Array.from({ length: 6 }, (_, i) => registry.register(input(`other-${i}`))),
      ...Array.from({ length: 6 }, () => registry.register(input('dup'))),
    ];
    const results = await Promise.all(calls);
    const dups = results.filter((r) => r.version.modelUri === 's3://b/models/dup');
    expect(dups).toHaveLength(12);
    expect(new Set(dups.map((r) => r.version.version)).size).toBe(1);
    expect(dups.filter((r) => r.created)).toHaveLength(1);
    const byKey = await versionsByKey(registry, store, 'churn');
    expect(byKey.get('dup')).toHaveLength(1);
    expect((await registry.listVersions('churn')).map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('recovers from a crash after the claim, before the version was written', async () => {
    const { store, registry } = setup();
    crashOn(store, /\/versions\//);
    await expect(registry.register(input('k'))).rejects.toThrow(/simulated crash/);
    expect(await registry.listModels()).toEqual([]);
    const retry = await registry.register(input('k'));
    expect([retry.version.version, retry.created]).toEqual([1, true]);
    expect((await registry.listVersions('churn')).length).toBe(1);
  });

  it('moves on without a gap when the claimed slot was taken while the claimant was down', async () => {
    const { store, registry } = setup();
    crashOn(store, /\/versions\//);
    await expect(registry.register(input('slow'))).rejects.toThrow(/simulated crash/);
    // Meanwhile another run registers and takes the slot "slow" had claimed.
    expect((await registry.register(input('fast'))).version.version).toBe(1);
    const retry = await registry.register(input('slow'));
    expect([retry.version.version, retry.created]).toEqual([2, true]);
    expect(await registry.register(input('slow'))).toEqual({ version: retry.version, created: false });
    expect((await registry.listVersions('churn')).map((v) => v.modelUri)).toEqual([
      's3://b/models/fast',
      's3://b/models/slow',
    ]);
  });

  it('finds its own version after a crash between writing it and finishing (audit included)', async () => {
    const { store, registry } = setup();
    crashOn(store, /\/audit\//);
    await expect(registry.register(input('k'))).rejects.toThrow(/simulated crash/);
    expect((await registry.listVersions('churn')).length).toBe(1);
    expect(await registry.audit('churn')).toEqual([]);
    const retry = await registry.register(input('k'));
    expect([retry.version.version, retry.created]).toEqual([1, false]);
    expect((await registry.listVersions('churn')).length).toBe(1);
    // The retry wrote the audit entry the crash skipped.
    expect(await registry.audit('churn')).toEqual([
      expect.objectContaining({ action: 'model.registered', model: 'churn', version: 1, actor: 'workflow:wf-1' }),
    ]);
  });

  it('keeps models apart: the same key under two models makes two versions 1', async () => {
    const { registry } = setup();
    const a = await registry.register(input('k'));
    const b = await registry.register(input('k', { name: 'fraud' }));
    expect([a.version.version, b.version.version, a.created, b.created]).toEqual([1, 1, true, true]);
    expect((await registry.listModels()).map((m) => m.name)).toEqual(['churn', 'fraud']);
  });

  it.each<[string, RegisterInput, string[]]>([
    ['an invalid model name', input('k', { name: 'Churn' }), ['model registration', 'name']],
    ['a model name starting with "-"', input('k', { name: '-x' }), ['name']],
    ['a too-long model name', input('k', { name: 'a'.repeat(64) }), ['name']],
    ['a path in the model name', input('k', { name: 'a/b' }), ['name']],
    ['an empty idempotency key', input(''), ['idempotencyKey']],
    ['a NaN metric', input('k', { metrics: { auc: Number.NaN } }), ['metrics.auc']],
    ['an infinite metric', input('k', { metrics: { auc: Number.POSITIVE_INFINITY } }), ['metrics.auc']],
    ['a bad dataset hash', input('k', { lineage: lineage({ datasetSha256: 'abc' }) }), ['lineage.datasetSha256']],
    ['a missing runId', input('k', { lineage: { ...lineage(), runId: undefined as unknown as string } }), ['lineage.runId']],
    ['a zero parentVersion', input('k', { lineage: lineage({ parentVersion: 0 }) }), ['lineage.parentVersion']],
    ['a non-string report', input('k', { reports: { a: 1 as unknown as string } }), ['reports.a']],
    ['a BigInt param', input('k', { lineage: lineage({ params: { n: 1n } }) }), ['lineage.params']],
  ])('rejects %s with USAGE before writing anything', async (_what, bad, mentions) => {
    const { store, registry } = setup();
    await expectError(registry.register(bad), 'USAGE', ...mentions);
    expect(store.objects.size).toBe(0);
  });
});

describe('aliases', () => {
  async function withVersions(n: number): Promise<{ store: MemoryStore; registry: ModelRegistry }> {
    const env = setup();
    for (let i = 1; i <= n; i++) await env.registry.register(input(`k${i}`));
    return env;
  }

  it('sets, moves and rolls back along the history, auditing every move', async () => {
    const { registry } = await withVersions(3);
    expect(await registry.setAlias('churn', 'production', 1, { actor: 'alice', reason: 'first' })).toEqual({
      moved: true,
      previous: null,
    });
    expect(await registry.setAlias('churn', 'production', 2, { actor: 'bob' })).toEqual({ moved: true, previous: 1 });
    expect(await registry.setAlias('churn', 'production', 3, { actor: 'carol', reason: 'better auc' })).toEqual({
      moved: true,
      previous: 2,
    });
    await registry.setAlias('churn', 'staging', 3, { actor: 'ci' });
    expect(await registry.getAliases('churn')).toEqual({ production: 3, staging: 3 });
    expect((await registry.resolveAlias('churn', 'production'))?.version).toBe(3);

    expect(await registry.rollbackAlias('churn', 'production', { actor: 'oncall', reason: 'latency' })).toEqual({
      from: 3,
      to: 2,
    });
    expect(await registry.rollbackAlias('churn', 'production', { actor: 'oncall' })).toEqual({ from: 2, to: 1 });
    await expectError(
      registry.rollbackAlias('churn', 'production', { actor: 'oncall' }),
      'NOT_FOUND',
      '"production"',
      'no earlier version',
    );
    expect((await registry.resolveAlias('churn', 'production'))?.version).toBe(1);

    const moves = (await registry.audit('churn')).filter((e) => e.alias === 'production');
    expect(moves.map((e) => [e.action, e.actor, e.from, e.to, e.detail?.['reason']])).toEqual([
      ['alias.set', 'alice', null, 1, 'first'],
      ['alias.set', 'bob', 1, 2, undefined],
      ['alias.set', 'carol', 2, 3, 'better auc'],
      ['alias.rollback', 'oncall', 3, 2, 'latency'],
      ['alias.rollback', 'oncall', 2, 1, undefined],
    ]);
    const all = await registry.audit('churn');
    expect(all.map((e) => e.at)).toEqual([...all.map((e) => e.at)].sort());
    expect(all.slice(0, 3).map((e) => [e.action, e.version])).toEqual([
      ['model.registered', 1],
      ['model.registered', 2],
      ['model.registered', 3],
    ]);
  });

  it('rolls back to the holder before the latest move still in effect, re-sets included', async () => {
    const { registry } = await withVersions(3);
    for (const v of [1, 2, 1, 3]) await registry.setAlias('churn', 'prod', v, { actor: 'a' });
    expect(await registry.rollbackAlias('churn', 'prod', { actor: 'a' })).toEqual({ from: 3, to: 1 });
    expect(await registry.rollbackAlias('churn', 'prod', { actor: 'a' })).toEqual({ from: 1, to: 2 });
    await registry.setAlias('churn', 'prod', 3, { actor: 'a' });
    expect(await registry.rollbackAlias('churn', 'prod', { actor: 'a' })).toEqual({ from: 3, to: 2 });
    expect(await registry.rollbackAlias('churn', 'prod', { actor: 'a' })).toEqual({ from: 2, to: 1 });
  });

  it('does not move an alias that already points at the version', async () => {
    const { registry } = await withVersions(1);
    await registry.setAlias('churn', 'prod', 1, { actor: 'a' });
    expect(await registry.setAlias('churn', 'prod', 1, { actor: 'a' })).toEqual({ moved: false, previous: 1 });
    expect((await registry.audit('churn')).filter((e) => e.action === 'alias.set')).toHaveLength(1);
  });

  it('applies an idempotency key once, even after the alias moved on', async () => {
    const { registry } = await withVersions(3);
    const opts = { actor: 'deployer', idempotencyKey: 'wf-9/run-1/promote' };
    expect(await registry.setAlias('churn', 'prod', 2, opts)).toEqual({ moved: true, previous: null });
    expect(await registry.setAlias('churn', 'prod', 2, opts)).toEqual({ moved: false, previous: null });
    await registry.setAlias('churn', 'prod', 3, { actor: 'someone' });
    // A late retry of the first decision must not drag the alias back.
    expect(await registry.setAlias('churn', 'prod', 2, opts)).toEqual({ moved: false, previous: null });
    expect((await registry.resolveAlias('churn', 'prod'))?.version).toBe(3);
  });

  it('rolls back once per idempotency key: a retried rollback answers the first one and moves nothing more', async () => {
    const { registry } = await withVersions(3);
    for (const v of [1, 2, 3]) await registry.setAlias('churn', 'prod', v, { actor: 'a' });
    const opts = { actor: 'oncall', idempotencyKey: 'promote-churn-prod/run-7' };
    expect(await registry.rollbackAlias('churn', 'prod', opts)).toEqual({ from: 3, to: 2 });
    expect(await registry.rollbackAlias('churn', 'prod', opts)).toEqual({ from: 3, to: 2 });
    expect((await registry.resolveAlias('churn', 'prod'))?.version).toBe(2);
    // Another key is another rollback.
    expect(await registry.rollbackAlias('churn', 'prod', { ...opts, idempotencyKey: 'promote-churn-prod/run-8' })).toEqual({ from: 2, to: 1 });
    const rollbacks = (await registry.audit('churn')).filter((e) => e.action === 'alias.rollback');
    expect(rollbacks.map((e) => [e.from, e.to, e.detail?.idempotencyKey])).toEqual([
      [3, 2, 'promote-churn-prod/run-7'],
      [2, 1, 'promote-churn-prod/run-8'],
    ]);
  });

  it('remembers a keyed decision not to move', async () => {
    const { registry } = await withVersions(3);
    await registry.setAlias('churn', 'prod', 1, { actor: 'a' });
    const decision = { actor: 'gate', idempotencyKey: 'd1', expectedCurrent: 2 };
    expect(await registry.setAlias('churn', 'prod', 3, decision)).toEqual({ moved: false, previous: 1 });
    await registry.setAlias('churn', 'prod', 2, { actor: 'a' });
    // Now the condition would hold, but this decision was already taken.
    expect(await registry.setAlias('churn', 'prod', 3, decision)).toEqual({ moved: false, previous: 1 });
    expect((await registry.resolveAlias('churn', 'prod'))?.version).toBe(2);
    // A keyed decision about an unset alias does not make it set.
    expect(await registry.setAlias('churn', 'canary', 3, { ...decision, idempotencyKey: 'd2' })).toEqual({
      moved: false,
      previous: null,
    });
    expect(await registry.getAliases('churn')).toEqual({ prod: 2 });
    expect(await registry.resolveAlias('churn', 'canary')).toBeUndefined();
  });

  it('lets exactly one of many concurrent conditional moves win', async () => {
    const { registry } = await withVersions(6);
    await registry.setAlias('churn', 'prod', 1, { actor: 'a' });
    const results = await Promise.all(
      [2, 3, 4, 5, 6, 2, 3, 4, 5, 6].map((v, i) =>
        registry.setAlias('churn', 'prod', v, { actor: `d${i}`, expectedCurrent: 1 }),
      ),
    );
    const winners = results.filter((r) => r.moved);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.previous).toBe(1);
    const holder = (await registry.resolveAlias('churn', 'prod'))?.version;
    for (const r of results.filter((x) => !x.moved)) expect(r.previous).toBe(holder);
    expect((await registry.audit('churn')).filter((e) => e.action === 'alias.set')).toHaveLength(2);
  });

  it('never loses a move when unconditional moves race', async () => {
    const { registry } = await withVersions(8);
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map((v) => registry.setAlias('churn', 'prod', v, { actor: 'a' })),
    );
    expect(results.filter((r) => r.moved)).toHaveLength(8);
    // The "previous" values chain: every move saw exactly the one before it.
    const previous = results.map((r) => r.previous);
    expect(previous.filter((p) => p === null)).toHaveLength(1);
    expect(new Set(previous).size).toBe(8);
    const sets = (await registry.audit('churn')).filter((e) => e.action === 'alias.set');
    expect(sets).toHaveLength(8);
  });

  it('heals a crash between a move and its audit entry on the next call', async () => {
    const { store, registry } = await withVersions(2);
    crashOn(store, /\/audit\/.*alias-prod/);
    await expect(registry.setAlias('churn', 'prod', 1, { actor: 'a', idempotencyKey: 'x' })).rejects.toThrow(/crash/);
    expect((await registry.resolveAlias('churn', 'prod'))?.version).toBe(1);
    expect((await registry.audit('churn')).filter((e) => e.alias === 'prod')).toEqual([]);
    expect(await registry.setAlias('churn', 'prod', 1, { actor: 'a', idempotencyKey: 'x' })).toEqual({
      moved: false,
      previous: null,
    });
    expect((await registry.audit('churn')).filter((e) => e.alias === 'prod')).toHaveLength(1);
  });

  it('names what is missing', async () => {
    const { registry } = await withVersions(2);
    await expectError(registry.setAlias('nope', 'prod', 1, { actor: 'a' }), 'NOT_FOUND', 'model "nope"');
    await expectError(registry.setAlias('churn', 'prod', 7, { actor: 'a' }), 'NOT_FOUND', '"churn"', 'version 7');
    await expectError(registry.rollbackAlias('churn', 'prod', { actor: 'a' }), 'NOT_FOUND', 'alias "prod"', '"churn"');
    await expectError(registry.rollbackAlias('nope', 'prod', { actor: 'a' }), 'NOT_FOUND', 'model "nope"');
    await expectError(registry.listVersions('nope'), 'NOT_FOUND', 'model "nope"');
    await expectError(registry.getAliases('nope'), 'NOT_FOUND', 'model "nope"');
    await expectError(registry.audit('nope'), 'NOT_FOUND', 'model "nope"');
    expect(await registry.resolveAlias('churn', 'prod')).toBeUndefined();
    expect(await registry.resolveAlias('nope', 'prod')).toBeUndefined();
    expect(await registry.getAliases('churn')).toEqual({});
  });

  it('rejects bad names, versions and options before writing anything', async () => {
    const { store, registry } = await withVersions(1);
    const before = new Map(store.objects);
    await expectError(registry.setAlias('churn', 'Prod', 1, { actor: 'a' }), 'USAGE', 'alias name');
    await expectError(registry.setAlias('churn', '1prod', 1, { actor: 'a' }), 'USAGE', 'alias name');
    await expectError(registry.setAlias('churn', 'p'.repeat(33), 1, { actor: 'a' }), 'USAGE', 'alias name');
    await expectError(registry.setAlias('churn', 'prod/x', 1, { actor: 'a' }), 'USAGE', 'alias name');
    await expectError(registry.setAlias('Churn', 'prod', 1, { actor: 'a' }), 'USAGE', 'model name');
    await expectError(registry.setAlias('churn', 'prod', 0, { actor: 'a' }), 'USAGE', 'version 0');
    await expectError(registry.setAlias('churn', 'prod', 1.5, { actor: 'a' }), 'USAGE', 'version 1.5');
    await expectError(registry.setAlias('churn', 'prod', 1, { actor: '' }), 'USAGE', 'actor');
    await expectError(registry.setAlias('churn', 'prod', 1, { actor: 'a', expectedCurrent: 0 }), 'USAGE', 'expectedCurrent');
    await expectError(registry.rollbackAlias('churn', 'Prod', { actor: 'a' }), 'USAGE', 'alias name');
    await expectError(registry.getVersion('churn', -1), 'USAGE', 'version -1');
    await expectError(registry.getVersion('../x', 1), 'USAGE', 'model name');
    await expectError(registry.appendAudit({ at: 'yesterday', actor: 'a', action: 'x', model: 'churn' }), 'USAGE', 'at');
    expect(store.objects).toEqual(before);
  });
});

describe('listModels and audit', () => {
  it('lists models with their latest version and aliases, skipping ones with no version yet', async () => {
    const { store, registry } = setup();
    expect(await registry.listModels()).toEqual([]);
    await registry.register(input('a'));
    await registry.register(input('b'));
    await registry.register(input('c', { name: 'fraud' }));
    await registry.setAlias('churn', 'prod', 1, { actor: 'x' });
    await registry.setAlias('churn', 'canary', 2, { actor: 'x' });
    crashOn(store, /\/versions\//);
    await expect(registry.register(input('d', { name: 'half' }))).rejects.toThrow(/crash/);
    expect(await registry.listModels()).toEqual([
      { name: 'churn', latestVersion: 2, aliases: { canary: 2, prod: 1 } },
      { name: 'fraud', latestVersion: 1, aliases: {} },
    ]);
  });

  it('appends caller entries in chronological order and never overwrites', async () => {
    const { store, registry } = setup();
    await registry.register(input('a'));
    await registry.appendAudit({ at: '2025-03-01T12:00:05.000Z', actor: 'gate', action: 'approval.granted', model: 'churn', version: 1 });
    await registry.appendAudit({ at: '2025-03-01T12:00:03.000Z', actor: 'gate', action: 'approval.requested', model: 'churn', version: 1 });
    await registry.appendAudit({ at: '2025-03-01T12:00:05.000Z', actor: 'gate', action: 'approval.granted', model: 'churn', version: 1 });
    const entries = await registry.audit('churn');
    expect(entries.map((e) => e.action)).toEqual([
      'model.registered',
      'approval.requested',
      'approval.granted',
      'approval.granted',
    ]);
    expect([...store.objects.keys()].filter((k) => k.includes('/audit/'))).toHaveLength(4);
  });

  it('writes an entry with an idempotency key once, however often it is retried', async () => {
    const { store, registry } = setup();
    const entry = { at: '2025-03-01T12:00:05.000Z', actor: 'bob', action: 'approval.vote', model: 'churn', version: 1 };
    await registry.appendAudit(entry, { idempotencyKey: 'wf/run/7' });
    await registry.appendAudit(entry, { idempotencyKey: 'wf/run/7' });
    await registry.appendAudit(entry, { idempotencyKey: 'wf/run/8' });
    expect((await registry.audit('churn')).map((e) => e.actor)).toEqual(['bob', 'bob']);
    expect([...store.objects.keys()].filter((k) => k.includes('/audit/'))).toHaveLength(2);
  });

  it('reports a malformed stored record as DATA_INVALID naming it', async () => {
    const { store, registry } = setup();
    await registry.register(input('a'));
    store.objects.set('registry/churn/versions/000001.json', Buffer.from('{"name":"churn"}'));
    await expectError(registry.getVersion('churn', 1), 'DATA_INVALID', 'registry/churn/versions/000001.json', 'version');
    store.objects.set('registry/churn/versions/000001.json', Buffer.from('{not json'));
    await expectError(registry.listVersions('churn'), 'DATA_INVALID', 'not valid JSON');
  });
});

describe('audit pages and version packs (reads that do not grow with the log)', () => {
  /** Counts the store's reads, by kind of key. */
  function counting(store: MemoryStore): { gets: string[]; lists: string[] } {
    const seen = { gets: [] as string[], lists: [] as string[] };
    const get = store.getNamed.bind(store);
    const list = store.listNamed.bind(store);
    store.getNamed = async (key) => {
      seen.gets.push(key);
      return get(key);
    };
    store.listNamed = async (prefix) => {
      seen.lists.push(prefix);
      return list(prefix);
    };
    return seen;
  }

  it('pages the audit log newest first, reading only the entries of the page', async () => {
    const { store, registry } = setup();
    await registry.register(input('a'));
    for (let i = 0; i < 120; i++) {
      const at = new Date(Date.parse('2025-03-02T00:00:00.000Z') + i * 1000).toISOString();
      await registry.appendAudit({ at, actor: 'gate', action: i % 3 === 0 ? 'canary-start' : 'approve', model: 'churn', version: 1, detail: { i } });
    }
    const all = await registry.audit('churn');
    expect(all).toHaveLength(121);
    const seen = counting(store);
    const page2 = await registry.auditPage('churn', { offset: 50, limit: 50 });
    expect(page2.total).toBe(121);
    expect(page2.entries).toEqual([...all].reverse().slice(50, 100));
    expect(seen.gets).toHaveLength(50);

    seen.gets.length = 0;
    const canaries = await registry.auditPage('churn', { actions: ['canary-start', 'alias.set'], limit: 10 });
    expect(canaries.total).toBe(40);
    expect(canaries.entries).toEqual([...all].reverse().filter((e) => e.action === 'canary-start').slice(0, 10));
    // The keys name their actions: only the 10 entries shown are read.
    expect(seen.gets).toHaveLength(10);
    await expectError(registry.auditPage('nope'), 'NOT_FOUND', 'nope');
    await expectError(registry.auditPage('churn', { limit: 0 }), 'USAGE', 'limit');
  });

  it('reads entries whose key does not name their action (written before keys did) to filter them', async () => {
    const { store, registry } = setup();
    await registry.register(input('a'));
    await registry.setAlias('churn', 'production', 1, { actor: 'x' });
    const legacy = { at: '2025-03-02T00:00:00.000Z', actor: 'deployment', action: 'canary-start', model: 'churn', version: 1 };
    store.objects.set('registry/churn/audit/20250302T000000000Z-0123456789abcdef.json', Buffer.from(JSON.stringify(legacy)));
    const moves = await registry.auditPage('churn', { actions: ['alias.set', 'alias.rollback', 'canary-start'] });
    expect(moves.total).toBe(2);
    expect(moves.entries.map((e) => e.action)).toEqual(['canary-start', 'alias.set']);
  });

  it('lists versions from packs of 25 plus the records after them, and the same as one by one', async () => {
    const { store, registry } = setup();
    for (let i = 1; i <= 60; i++) await registry.register(input(`k${i}`));
    // The registrations that completed versions 25 and 50 packed them.
    expect([...store.objects.keys()].filter((k) => k.includes('/version-packs/')).sort()).toEqual([
      'registry/churn/version-packs/000001-000025.json',
      'registry/churn/version-packs/000026-000050.json',
    ]);
    const expected = await Promise.all(Array.from({ length: 60 }, (_, i) => registry.getVersion('churn', i + 1)));
    const seen = counting(store);
    expect(await registry.listVersions('churn')).toEqual(expected);
    // 2 packs + versions 51-60, instead of 60 reads.
    expect(seen.gets).toHaveLength(12);

    // A missing pack (e.g. written by an older registry) is read from the records and written once.
    store.objects.delete('registry/churn/version-packs/000026-000050.json');
    expect(await registry.listVersions('churn')).toEqual(expected);
    expect(store.objects.has('registry/churn/version-packs/000026-000050.json')).toBe(true);
  });

  it('registers concurrently without a lost or doubled version while packs are written', async () => {
    const { registry } = setup();
    await Promise.all(Array.from({ length: 60 }, (_, i) => registry.register(input(`c${i}`))));
    const versions = await registry.listVersions('churn');
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('refuses a pack that does not hold the versions its name says, naming it', async () => {
    const { store, registry } = setup();
    for (let i = 1; i <= 25; i++) await registry.register(input(`k${i}`));
    const key = 'registry/churn/version-packs/000001-000025.json';
    const pack = JSON.parse(store.objects.get(key)!.toString('utf8')) as { records: unknown[] };
    store.objects.set(key, Buffer.from(JSON.stringify({ ...pack, records: pack.records.slice(1) })));
    await expectError(registry.listVersions('churn'), 'DATA_INVALID', key);
  });
});

describe('the approval policy, enforced by the registry itself', () => {
  it('refuses a move of a protected alias without the policy\'s signed approvals, whoever calls', async () => {
    const { store, registry } = setup();
    await registry.register(input('a'));
    await registry.register(input('b'));
    const trust = createTrustRecords({ store });
    const alice = generateKeyPairSync('ed25519').privateKey;
    await trust.addApprover('alice', publicKeyText(alice), 'admin');
    await trust.setPolicy('churn', { protect: ['production'], approvers: ['alice'], required: 1 }, 'admin');

    // A client that bypasses the CLI and calls the registry directly is held to the policy.
    await expectError(registry.setAlias('churn', 'production', 2, { actor: 'mallory' }), 'DECISION_REFUSED', 'policy protects "production"', 'needs 1 signed approval');
    // A claim of identity without a signature is not an approval.
    await registry.appendAudit({ at: new Date().toISOString(), actor: 'alice', action: 'approve', model: 'churn', version: 2 });
    await expectError(registry.setAlias('churn', 'production', 2, { actor: 'alice' }), 'DECISION_REFUSED', 'found 0', 'missing 1 more from alice');
    expect(await registry.getAliases('churn')).toEqual({});
    // Unprotected aliases move freely.
    expect((await registry.setAlias('churn', 'staging', 2, { actor: 'x' })).moved).toBe(true);

    // A signed approval of exactly this version from a policy approver lets it move.
    const at = new Date().toISOString();
    const vote = signVote(alice, { workflowId: 'wf', runId: 'run', model: 'churn', version: 2, decision: 'approve', approver: 'alice', comment: 'ok', at });
    await registry.appendAudit({ at, actor: 'alice', action: 'approve', model: 'churn', version: 2, detail: { statement: vote.statement, signature: vote.signature } });
    await expectError(registry.setAlias('churn', 'production', 1, { actor: 'x' }), 'DECISION_REFUSED', 'v1');
    expect(await registry.setAlias('churn', 'production', 2, { actor: 'x' })).toEqual({ moved: true, previous: null });
  });
});

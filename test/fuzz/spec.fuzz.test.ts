/**
 * Bad pipeline specs: arbitrary documents, mutations of the example spec and arbitrary YAML text
 * go through the spec loader. Each is either a valid spec (which then satisfies the invariants
 * later stages rely on) or an MlcycleError SPEC_INVALID listing `path: message` lines whose paths
 * name the field that was broken; never any other exception.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { MlcycleError } from '../../src/errors';
import { loadPipelineSpec, parsePipelineSpec, PipelineSpecSchema, type PipelineSpec } from '../../src/spec/pipeline-spec';
import { fuzzTarget } from './fuzz-support';

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', 'churn', 'pipeline.yaml');
type Doc = Record<string, unknown>;
type Path = Array<string | number>;

/** Optional sections, valid as written, so that mutations reach their rules too. */
const OPTIONAL_SECTIONS: Doc = {
  tune: {
    strategy: 'grid',
    trials: 4,
    concurrency: 2,
    seed: 1,
    metric: 'auc',
    space: { learningRate: { loguniform: [0.001, 0.5], steps: 3 }, epochs: { int: [5, 20] }, trainer: { choice: ['logistic-regression'] } },
    asha: { minResource: 1, reductionFactor: 3 },
  },
  approval: { approvers: ['alice', 'bob'], required: 1, timeout: '7d', remindAfter: '1d', onTimeout: 'reject', notify: { webhook: 'http://127.0.0.1:9/hook' } },
  deploy: { alias: 'production', strategy: 'canary', canary: { percent: 10, bake: '10m', rollbackIf: { errorRate: 0.05 } } },
  monitor: { every: '1h', window: '24h', drift: { method: 'psi', threshold: 0.2, perFeature: { tenure_months: 0.3 } }, retrain: { onDrift: true, cooldown: '24h' } },
};

let example: Doc;
const clone = <T>(v: T): T => structuredClone(v);

/** Every path of containers and leaves in `doc` (the root excluded), short of huge or deep values. */
function paths(doc: unknown, prefix: Path = []): Path[] {
  if (doc === null || typeof doc !== 'object' || prefix.length > 8 || (Array.isArray(doc) && doc.length > 50)) return [];
  const out: Path[] = [];
  const entries: Array<[string | number, unknown]> = Array.isArray(doc) ? doc.map((v, i) => [i, v]) : Object.entries(doc);
  for (const [k, v] of entries) {
    const p = [...prefix, k];
    out.push(p, ...paths(v, p));
  }
  return out;
}

function getAt(doc: unknown, p: Path): unknown {
  let cur = doc;
  for (const k of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

function setAt(doc: unknown, p: Path, value: unknown, remove = false): void {
  const parent = getAt(doc, p.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return;
  const key = p[p.length - 1]!;
  if (remove) {
    if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
    else delete (parent as Record<string | number, unknown>)[key];
  } else {
    (parent as Record<string | number, unknown>)[key] = value;
  }
}

const nested = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

/** A value too big to print: built when applied, shown by name in counterexamples. */
class Pathological {
  constructor(
    readonly name: string,
    readonly make: () => unknown,
  ) {}
  [fc.toStringMethod](): string {
    return this.name;
  }
}
const materialize = (v: unknown): unknown => (v instanceof Pathological ? v.make() : clone(v));

/** Values that break a field: wrong types, out-of-range numbers, garbage. */
const smallBadValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 0.5, -0, 1e-300, 2 ** 31, 2 ** 53 - 1, 2 ** 53 + 2, 1e12, 1e300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.constantFrom<unknown>('', ' ', 'NaN', 'Infinity', '1e999', '-5', 'null', '../../etc/passwd', 'file://', 's3://', 's3://B/k', 'ftp://x', '2h', '0s', '99999999999999999999d', 'tpu', 'rmse', 'grid', 'command'),
  fc.constantFrom<unknown>([], {}, [null], [1, 'a'], { type: 'number' }, { uniform: [1, 0] }, { int: [0, 1e12] }, { int: [0, 2 ** 53 - 1], steps: 1e12 }, { choice: [] }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.double(),
  fc.integer(),
  fc.jsonValue({ maxDepth: 3 }),
);
/** The same, and huge or deep. */
const badValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 7, arbitrary: smallBadValue },
  { weight: 1, arbitrary: fc.constantFrom(
    new Pathological('<1 MiB string>', () => 'x'.repeat(1 << 20)),
    new Pathological('<150k-item array>', () => Array.from({ length: 150_000 }, (_, i) => i)),
    new Pathological('<nested 2000 deep>', () => nested(2000, 1)),
  ) },
);

/** Names for keys: plain identifiers, so that `a.b` paths in messages stay unambiguous. */
const keyName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/);

type Mutation =
  | { kind: 'drop'; at: number }
  | { kind: 'set'; at: number; value: unknown }
  | { kind: 'add'; at: number; key: string; value: unknown }
  | { kind: 'deep'; at: number; depth: number };

const mutationOf = (value: fc.Arbitrary<unknown>, maxDepth: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value }),
    fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: keyName, value }),
    fc.record({ kind: fc.constant('deep' as const), at: fc.nat(), depth: fc.integer({ min: 50, max: maxDepth }) }),
  );
const mutation = mutationOf(badValue, 3000);
/** For files: what a writer can still write, at a cost that allows many cases. */
const fileMutation = mutationOf(smallBadValue, 300);

/** Applies `m` to `doc`; returns the path it touched (the key's parent for an added key). */
function apply(doc: Doc, m: Mutation): Path {
  const all = paths(doc);
  if (all.length === 0) return [];
  const p = all[m.at % all.length]!;
  switch (m.kind) {
    case 'drop':
      setAt(doc, p, undefined, true);
      return p;
    case 'set':
      setAt(doc, p, materialize(m.value));
      return p;
    case 'deep':
      setAt(doc, p, nested(m.depth, getAt(doc, p) ?? 1));
      return p;
    case 'add': {
      const target = getAt(doc, p);
      if (target === null || typeof target !== 'object' || Array.isArray(target)) {
        setAt(doc, p, { [m.key]: materialize(m.value) });
        return p;
      }
      (target as Doc)[m.key] = materialize(m.value);
      return [...p, m.key];
    }
  }
}

/**
 * The field paths a SPEC_INVALID message reports, checked against the issues the schema finds in
 * `doc`: every issue must appear as a `path: message` line. (Keys may hold ": ", "." or line
 * breaks themselves, so the lines are matched rather than parsed.)
 */
function reportedPaths(err: unknown, doc: unknown): Path[] {
  expect(err, `threw ${String(err)}`).toBeInstanceOf(MlcycleError);
  const e = err as MlcycleError;
  expect(e.code).toBe('SPEC_INVALID');
  expect(e.exitCode).toBe(2);
  expect(e.message).toMatch(/^[^\n]* is invalid:\n/);
  const big = /\n(.+): holds \d+ items; at most \d+ are allowed$/.exec(e.message);
  if (big) return [big[1] === '(root)' ? [] : big[1]!.split('.')];
  const result = PipelineSpecSchema.safeParse(doc);
  expect(result.success).toBe(false);
  const issues = result.error!.issues;
  expect(issues.length).toBeGreaterThan(0);
  for (const issue of issues) {
    const line = `${issue.path.map((k) => (String(k) === '' ? '""' : String(k))).join('.') || '(root)'}: ${issue.message}`;
    expect(e.message, `the message does not report ${line}`).toContain(`\n${line}`);
  }
  return issues.map((i) => i.path.map((k) => (typeof k === 'number' ? k : String(k))));
}

const dotted = (p: Path) => p.map(String).join('.');
const startsWith = (p: Path, prefix: Path) => prefix.length <= p.length && prefix.every((k, i) => String(k) === String(p[i]));

/**
 * Rules that read two fields report on one of them: the target (schema), train.command (trainer),
 * a range's min (max), approval.required (approvers), deploy.canary (strategy), tune's space and
 * asha sections (each other). A mutation below the section may be reported there.
 */
const CROSS_FIELD = [/^data\.target$/, /^train\.command$/, /\.min$/, /^approval\.required$/, /^deploy\.canary$/, /^tune\.(space|asha)(\.|$)/];

/** After `removed` was spliced out of an array (`parent`), the earlier paths into that array past it, one index lower. */
function shiftAfterSplice(touched: Path[], removed: Path, parent: unknown): void {
  const index = removed[removed.length - 1];
  if (!Array.isArray(parent) || typeof index !== 'number') return;
  const depth = removed.length - 1;
  for (const [i, t] of touched.entries()) {
    const at = t[depth];
    if (t.length > depth && typeof at === 'number' && at > index && dotted(t.slice(0, depth)) === dotted(removed.slice(0, depth))) {
      touched[i] = [...t.slice(0, depth), at - 1, ...t.slice(depth + 1)];
    }
  }
}

function related(reported: Path, mutated: Path): boolean {
  if (startsWith(mutated, reported) || startsWith(reported, mutated)) return true;
  if (dotted(reported.slice(0, -1)) === dotted(mutated.slice(0, -1))) return true;
  return String(reported[0]) === String(mutated[0]) && CROSS_FIELD.some((re) => re.test(dotted(reported)));
}

/** Whether a reported path is the path of something in `doc`, or of a missing key of an object in it. */
function pathInDoc(doc: unknown, reported: Path): boolean {
  const at = (ps: Path) => ps.reduce<unknown>((cur, k) => (cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[k] : undefined), doc);
  const parent = at(reported.slice(0, -1));
  return reported.length === 0 || at(reported) !== undefined || (parent !== null && typeof parent === 'object');
}

/** What every accepted spec must hold, whatever it was written as. */
function checkValidSpec(spec: PipelineSpec): void {
  expect(Object.hasOwn(spec.data.schema, spec.data.target), `target ${spec.data.target} is not a declared column`).toBe(true);
  expect(spec.data.split.test).toBeGreaterThan(0);
  expect(spec.data.split.test).toBeLessThan(1);
  if (spec.train.trainer === 'command') expect(spec.train.command?.length).toBeGreaterThan(0);
  for (const [, rule] of Object.entries(spec.data.schema)) {
    if (rule.type === 'number' && rule.min !== undefined && rule.max !== undefined) expect(rule.min).toBeLessThanOrEqual(rule.max);
  }
  if (spec.approval) expect(spec.approval.required).toBeLessThanOrEqual(new Set(spec.approval.approvers).size);
  // A parsed spec travels as JSON (workflow input) and is parsed again by whoever reads it
  // (compared as JSON: the trip turns -0 into 0, nothing else).
  const json = JSON.stringify(spec);
  expect(JSON.stringify(parsePipelineSpec(JSON.parse(json)))).toBe(json);
}

function parseOutcome(doc: unknown): { spec?: PipelineSpec; error?: unknown } {
  try {
    return { spec: parsePipelineSpec(doc) };
  } catch (error) {
    return { error };
  }
}

describe('fuzz: pipeline specs', () => {
  const target = fuzzTarget('spec');
  let dir: string;

  beforeAll(async () => {
    example = YAML.parse(await fsp.readFile(EXAMPLE, 'utf8')) as Doc;
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mlcycle-fuzz-spec-'));
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('the example spec, with and without the optional sections, is valid (the mutations start from valid documents)', () => {
    checkValidSpec(parsePipelineSpec(clone(example)));
    checkValidSpec(parsePipelineSpec({ ...clone(example), ...clone(OPTIONAL_SECTIONS) }));
  });

  it('mutated example specs are valid or name a field related to what was broken', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 3 }), (withOptional, mutations) => {
        target.hit();
        const doc: Doc = withOptional ? { ...clone(example), ...clone(OPTIONAL_SECTIONS) } : clone(example);
        const touched: Path[] = [];
        for (const m of mutations) {
          const p = apply(doc, m);
          // Dropping an array element moves the later ones down: paths touched earlier follow them.
          if (m.kind === 'drop') shiftAfterSplice(touched, p, getAt(doc, p.slice(0, -1)));
          touched.push(p);
        }
        const { spec, error } = parseOutcome(doc);
        if (spec) {
          checkValidSpec(spec);
          return;
        }
        const reported = reportedPaths(error, doc);
        for (const p of reported) expect(pathInDoc(doc, p), `${dotted(p)} is not a field of the document`).toBe(true);
        expect(
          reported.some((r) => touched.some((t) => related(r, t))),
          `mutated ${touched.map(dotted).join(', ')} but the error names ${reported.map(dotted).join(', ')}`,
        ).toBe(true);
      }),
      target.params(600),
    );
  });

  it('arbitrary documents are rejected with field paths, never with another exception', () => {
    const sectionish = fc.dictionary(
      fc.constantFrom('apiVersion', 'name', 'data', 'validation', 'train', 'evaluate', 'cache', 'tune', 'approval', 'deploy', 'monitor', 'extra'),
      fc.jsonValue({ maxDepth: 4 }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 5 }), sectionish), (doc) => {
        target.hit();
        const { spec, error } = parseOutcome(doc);
        if (spec) {
          checkValidSpec(spec);
          return;
        }
        for (const p of reportedPaths(error, doc)) expect(pathInDoc(doc, p), `${dotted(p)} is not a field of the document`).toBe(true);
      }),
      target.params(300),
    );
  });

  it('spec files (YAML and JSON text, arbitrary or mutated) load or fail with SPEC_INVALID naming the file or a field', async () => {
    const yamlTokens = fc.constantFrom(
      '\n', ': ', '- ', '[', ']', '{', '}', ',', '"', "'", '#', '&a ', '*a', '!!binary ', '!!set ', '!!omap ', '!!timestamp ', '<<: *a', '%YAML 1.1\n---\n', '---\n', '...\n',
      'apiVersion: mlcycle/v1\n', 'data:\n  schema:\n', '  ', '\t', '.inf', '.nan', '~', '0x1F', '1e999', '\u0000', '\ufeff', '\u2028',
    );
    const yamlText = fc.array(fc.oneof(yamlTokens, fc.string({ unit: 'grapheme', maxLength: 12 })), { maxLength: 40 }).map((parts) => parts.join(''));
    const mutatedFile = fc.record({ mutations: fc.array(fileMutation, { minLength: 1, maxLength: 2 }), ext: fc.constantFrom('yaml', 'json') });
    const render = (ms: Mutation[], ext: string): string | undefined => {
      const doc = clone(example);
      for (const m of ms) apply(doc, m);
      try {
        return ext === 'json' ? JSON.stringify(doc) : YAML.stringify(doc, { aliasDuplicateObjects: false });
      } catch {
        return undefined; // too deep for the writer: such a file cannot be written in the first place
      }
    };
    // The YAML parser reports unknown tags and directives as process warnings: noise here.
    const warnings = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(yamlText.map((text) => ({ ext: 'yaml', text })), mutatedFile), async (input) => {
        const ext = input.ext;
        const text = 'text' in input ? input.text : render(input.mutations, ext);
        fc.pre(text !== undefined);
        target.hit();
        const file = path.join(dir, `spec-${n++}.${ext}`);
        fs.writeFileSync(file, text);
        let error: unknown;
        try {
          const loaded = await loadPipelineSpec(file);
          checkValidSpec(loaded.spec);
          expect(loaded.resolvedSource).toMatch(/^(file:\/\/\/|s3:\/\/)/);
        } catch (err) {
          error = err;
        }
        fs.rmSync(file);
        if (error === undefined) return;
        if (!(error instanceof MlcycleError) || !/ is not valid (YAML|JSON): /.test(error.message)) {
          // The loader's parse succeeded, so the same parse here gives the document it checked.
          reportedPaths(error, ext === 'json' ? JSON.parse(text) : YAML.parse(text));
        } else {
          expect(error.code).toBe('SPEC_INVALID');
          expect(error.message).toContain(file);
        }
      }),
      target.params(250),
    );
    warnings.mockRestore();
  });
});

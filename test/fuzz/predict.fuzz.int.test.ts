/**
 * Bad /predict requests against the real prediction server (a real model in the real store):
 * arbitrary JSON, mutated valid bodies (wrong types, missing columns, extreme numbers, extra, huge
 * and deeply nested fields), non-JSON, oversized bodies and odd content types. Every answer is a
 * 2xx with sane predictions or a 4xx whose error names the field; never a 5xx; and the server keeps
 * answering valid requests and logging their predictions afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHURN_SCHEMA, CHURN_TARGET, generateChurnDataset } from '../../src/demo/dataset-generator';
import { createModelRegistry } from '../../src/registry/model-registry';
import { readPredictionLogs } from '../../src/serving/prediction-log';
import { createPredictionServer, type PredictionServer } from '../../src/serving/prediction-server';
import type { ModelArtifact } from '../../src/training/model-artifact';
import { trainArtifact } from '../helpers/train-artifact';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { registerModel, requestRows } from '../serving/fixtures';
import { fuzzTarget } from './fuzz-support';

/**
 * The churn model, but with two features in small units (their spread well below 1), as
 * measurements in large units are: a finite request value then standardizes to ±Infinity, which
 * is what a robust server must survive.
 */
async function trainSmallUnitModel(): Promise<ModelArtifact> {
  const rows = generateChurnDataset({ rows: 600, seed: 3 }).map((r) => ({
    ...r,
    monthly_charges: r.monthly_charges === null ? null : r.monthly_charges / 1e6,
    support_tickets: r.support_tickets === null ? null : r.support_tickets / 1e6,
  }));
  return trainArtifact({ schema: CHURN_SCHEMA, target: CHURN_TARGET, rows, params: { epochs: 20 }, seed: 3 });
}

const MODEL = 'fuzz-predict';
const MAX_ROWS = 20;
const BODY_LIMIT = 256 * 1024;

interface Answer {
  status: number;
  body: any;
}

type Row = Record<string, unknown>;
type Path = Array<string | number>;

/** A value too big or deep to print: built when sent, shown by name in counterexamples. */
class Lazy {
  constructor(
    readonly name: string,
    readonly make: () => unknown,
  ) {}
  [fc.toStringMethod](): string {
    return `<${this.name}>`;
  }
}
const deep = (depth: number) =>
  new Lazy(`nested ${depth} deep`, () => {
    let v: unknown = 0;
    for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
    return v;
  });
const materialize = (v: unknown): unknown => (v instanceof Lazy ? v.make() : v);

describe('fuzz: /predict bodies', () => {
  const target = fuzzTarget('predict');
  let env: TestEnv;
  let server: PredictionServer;
  let url: string;
  let artifact: ModelArtifact;
  let template: Row;
  let columns: Array<{ name: string; kind: 'number' | 'boolean' | 'category' }>;
  const logLines: string[] = [];
  const seen = new Map<number, number>();

  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    const registry = createModelRegistry({ store: env.store });
    artifact = await trainSmallUnitModel();
    const version = await registerModel(env.store, registry, MODEL, artifact, 'fuzz-v1');
    await registry.setAlias(MODEL, 'production', version, { actor: 'fuzz' });
    columns = artifact.encoder.columns.map((c) => ({ name: c.name, kind: c.kind }));
    template = requestRows(1, 5)[0] as Row;
    server = createPredictionServer({
      store: env.store,
      registry,
      model: MODEL,
      refreshMs: 60_000,
      logFlushMs: 100,
      maxRows: MAX_ROWS,
      bodyLimit: BODY_LIMIT,
      // This suite is about scoring survivable extremes: values the default rule would refuse
      // before scoring (serve.outOfRange: refuse, tested in prediction-server.int.test.ts) go through.
      outOfRange: 'allow',
      log: (l) => logLines.push(l),
    });
    ({ url } = await server.start());
  });
  afterAll(async () => {
    await server?.stop();
    await env?.close();
  });

  async function send(body: string | Buffer, contentType: string | undefined = 'application/json'): Promise<Answer> {
    const res = await fetch(`${url}/predict`, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
    return { status: res.status, body: parsed };
  }

  /** What every answer must be: a 2xx with one sane prediction per row, or a 4xx saying why. */
  function checkAnswer(a: Answer, rowsSent: number | undefined): void {
    expect(a.status, `answered ${a.status}: ${JSON.stringify(a.body).slice(0, 300)}`).toBeLessThan(500);
    if (a.status === 200) {
      expect(rowsSent).toBeDefined();
      expect(a.body.predictions).toHaveLength(rowsSent!);
      for (const p of a.body.predictions as Array<{ probability: number; label: boolean }>) {
        expect(Number.isFinite(p.probability)).toBe(true);
        expect(p.probability).toBeGreaterThanOrEqual(0);
        expect(p.probability).toBeLessThanOrEqual(1);
        expect(p.label).toBe(p.probability >= 0.5);
      }
      return;
    }
    expect([400, 413, 415]).toContain(a.status);
    expect(typeof a.body.error).toBe('string');
    expect(a.body.error.length).toBeGreaterThan(0);
    expect(Array.isArray(a.body.issues)).toBe(true);
    if (a.body.issues.length > 0) {
      // The summary names the first field, and every issue has a path and a reason.
      expect(a.body.error).toContain(`${a.body.issues[0].path}: `);
      for (const issue of a.body.issues) {
        expect(issue.path).toMatch(/^(\(root\)|rows(\.\d+(\.[^.]+)?)?)$/);
        expect(issue.message.length).toBeGreaterThan(0);
      }
    }
  }

  const badValue: fc.Arbitrary<unknown> = fc.oneof(
    fc.constantFrom<unknown>(null, true, false, 0, -0, 1, -1, 0.5, 1e308, -1e308, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 2 ** 53 + 2, 1e21),
    fc.constantFrom<unknown>('', '12', 'NaN', 'Infinity', 'true', 'basic', 'platinum', '\u0000', '\ud800', '\ufeff', 'x'.repeat(300)),
    fc.constantFrom<unknown>([], {}, [1], { value: 1 }),
    fc.double(),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(deep(50), deep(20_000), new Lazy('200 KiB string', () => 'y'.repeat(200 * 1024))),
  );
  const extraKey = fc.oneof(fc.constantFrom('customer_id', 'churned', 'rows', 'constructor', 'toString', 'hasOwnProperty', '', ' ', 'a.b', '0'), fc.string({ maxLength: 8 }));

  type RowEdit = { kind: 'drop'; col: number } | { kind: 'set'; col: number; value: unknown } | { kind: 'extra'; key: string; value: unknown };
  const rowEdit: fc.Arbitrary<RowEdit> = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), col: fc.nat() }),
    fc.record({ kind: fc.constant('set' as const), col: fc.nat(), value: badValue }),
    fc.record({ kind: fc.constant('extra' as const), key: extraKey, value: badValue }),
  );

  /** A body of template rows with edits; returns it and the paths the edits broke. */
  function build(nRows: number, edits: Array<{ row: number; edit: RowEdit }>): { body: Row; broken: string[] } {
    const rows: Row[] = Array.from({ length: nRows }, () => ({ ...template }));
    const broken: string[] = [];
    for (const { row, edit } of edits) {
      if (nRows === 0) break;
      const r = rows[row % nRows]!;
      const at: Path = ['rows', row % nRows];
      if (edit.kind === 'extra') {
        Object.defineProperty(r, edit.key, { value: materialize(edit.value), enumerable: true, configurable: true, writable: true });
        continue;
      }
      const col = columns[edit.col % columns.length]!;
      if (edit.kind === 'drop') delete r[col.name];
      else r[col.name] = materialize(edit.value);
      broken.push([...at, col.name].join('.'));
    }
    return { body: { rows }, broken };
  }

  const stringify = (v: unknown): string | undefined => {
    try {
      return JSON.stringify(v);
    } catch {
      return undefined; // nesting too deep for this process to write as JSON
    }
  };

  it('valid bodies with edited rows: 200 with a prediction per row, or 400 naming an edited field', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ row: fc.nat(), edit: rowEdit }), { maxLength: 4 }),
        async (nRows, edits) => {
          const { body, broken } = build(nRows, edits);
          const text = stringify(body);
          fc.pre(text !== undefined);
          target.hit();
          const a = await send(text);
          checkAnswer(a, nRows);
          if (Buffer.byteLength(text) > BODY_LIMIT) {
            expect(a.status).toBe(413);
            return;
          }
          if (a.status !== 200) {
            expect(a.status).toBe(400);
            // Each issue is about a field that was edited (or its row, when that row cannot be scored).
            for (const issue of a.body.issues as Array<{ path: string }>) {
              expect(broken.some((b) => b === issue.path || b.startsWith(`${issue.path}.`)), `${issue.path} was not edited (${broken.join(', ')})`).toBe(true);
            }
            expect(a.body.issues.length).toBeGreaterThan(0);
          }
        },
      ),
      target.params(150),
    );
  });

  it('extreme numbers in every number column: 200, or 400 naming a column that holds one', async () => {
    const M = Number.MAX_VALUE;
    const extreme = fc.constantFrom(M, -M, 1e308, -1e308, 1e300, -1e300, 1e154, 5e-324, 0, 42);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(extreme, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 3 }), async (values) => {
        target.hit();
        const numbers = columns.filter((c) => c.kind === 'number').map((c) => c.name);
        const rows = values.map((vs) => Object.fromEntries([...Object.entries(template), ...numbers.map((n, i) => [n, vs[i % vs.length]])]));
        const a = await send(JSON.stringify({ rows }));
        checkAnswer(a, rows.length);
        if (a.status === 400) {
          for (const issue of a.body.issues as Array<{ path: string }>) {
            const [, row, column] = issue.path.split('.');
            expect(numbers).toContain(column);
            expect(Math.abs(rows[Number(row)]![column!] as number)).toBeGreaterThan(1e100);
          }
        }
      }),
      target.params(60),
    );
  });

  it('arbitrary JSON, wrong shapes and too many rows: never a 5xx, always a reason', async () => {
    const shapes = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      fc.record({ rows: fc.jsonValue({ maxDepth: 3 }) }),
      fc.record({ rows: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }) }),
      fc.integer({ min: MAX_ROWS + 1, max: MAX_ROWS + 5 }).map((n) => ({ rows: Array.from({ length: n }, () => template) })),
      fc.constant({ rows: [] }),
    );
    await fc.assert(
      fc.asyncProperty(shapes, async (body) => {
        target.hit();
        const rows = (body as { rows?: unknown })?.rows;
        checkAnswer(await send(JSON.stringify(body)), Array.isArray(rows) ? rows.length : undefined);
      }),
      target.params(150),
    );
  });

  it('non-JSON, truncated, deeply nested, oversized bodies and odd content types: 4xx, never 5xx', async () => {
    const valid = JSON.stringify({ rows: [template] });
    /** Bytes shown by name in counterexamples. */
    class Raw {
      constructor(
        readonly name: string,
        readonly bytes: () => Buffer,
      ) {}
      [fc.toStringMethod](): string {
        return `<${this.name}>`;
      }
    }
    const raw = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.nat({ max: valid.length - 1 }).map((n) => Buffer.from(valid.slice(0, n))),
      fc.constantFrom(
        new Raw('valid body after a UTF-8 BOM', () => Buffer.from(`\ufeff${valid}`)),
        new Raw('valid body in UTF-16', () => Buffer.from(valid, 'utf16le')),
        new Raw('rows nested 200k deep', () => Buffer.from(`{"rows":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`)),
        new Raw('__proto__ row', () => Buffer.from(`{"rows":[{"__proto__":{"x":1}}]}`)),
        new Raw('constructor.prototype row', () => Buffer.from(`{"rows":[{"constructor":{"prototype":{"x":1}}}]}`)),
        new Raw('body over the size limit', () => Buffer.from(`{"rows": [${Array.from({ length: 400 }, () => JSON.stringify({ ...template, pad: 'p'.repeat(1000) })).join(',')}]}`)),
        new Raw('empty body', () => Buffer.alloc(0)),
        new Raw('null', () => Buffer.from('null')),
      ),
    );
    const contentType = fc.constantFrom<string | undefined>('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', undefined);
    await fc.assert(
      fc.asyncProperty(raw, contentType, async (input, type) => {
        target.hit();
        const body = input instanceof Raw ? input.bytes() : input;
        const a = await send(body, type);
        checkAnswer(a, a.status === 200 ? 1 : undefined);
        // Too large is the answer for JSON; other content types are refused before the size matters.
        if (body.length > BODY_LIMIT && type?.startsWith('application/json')) expect(a.status).toBe(413);
      }),
      target.params(100),
    );
  });

  it('after all that, the server still answers a valid request, reports no 5xx and still logs predictions', async () => {
    target.hit();
    // A row whose extra field nests too deep to serialize is scored, then must not block the log.
    const deepRow = JSON.stringify({ rows: [{ ...template, note: 0 }] }).replace('"note":0', `"note":${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    checkAnswer(await send(deepRow), 1);
    const marker = `fuzz-marker-${Date.now()}`;
    const ok = await send(JSON.stringify({ rows: [{ ...template, customer_id: marker }] }));
    expect(ok.status).toBe(200);
    expect(ok.body.predictions).toHaveLength(1);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).not.toMatch(/mlcycle_predict_requests_total\{[^}]*status="5\d\d"/);
    expect(logLines.filter((l) => /failed|internal error/.test(l))).toEqual([]);
    // Both answer kinds happened: the generators reached the model and the validator.
    expect(seen.get(200) ?? 0).toBeGreaterThan(0);
    expect(seen.get(400) ?? 0).toBeGreaterThan(0);
    // The valid row reaches the prediction log even after rows that could not be written.
    const deadline = Date.now() + 30_000;
    let logged = false;
    while (!logged && Date.now() < deadline) {
      const entries = await readPredictionLogs(env.store, MODEL);
      logged = entries.some((e) => (e.inputs as Row).customer_id === marker);
      if (!logged) await new Promise((r) => setTimeout(r, 250));
    }
    expect(logged, `prediction log stuck; server log: ${logLines.join(' | ')}`).toBe(true);
  });
});

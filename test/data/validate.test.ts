import { describe, expect, it } from 'vitest';
import { coerceRow, createTypeErrorCollector, type DataSchema, type TypeErrorSummary } from '../../src/data/coerce';
import { createProfiler, type DatasetProfile } from '../../src/data/profile';
import { cdfFromPercentiles as cdf } from '../../src/stats/quantile-bins';
import { psi, renderValidationHtml, summarizeFailures, validateDataset, type ValidationReport, type ValidationSpec } from '../../src/data/validate';
import { CHURN_SCHEMA, generateChurnDataset } from '../../src/demo/dataset-generator';
import { parsePipelineSpec } from '../../src/spec/pipeline-spec';

const SCHEMA = {
  tenure_months: { type: 'number', min: 0 },
  tickets: { type: 'number', min: 0, max: 20, integer: true },
  plan: { type: 'category', values: ['basic', 'pro', 'enterprise'] },
  notes: { type: 'string', required: false },
  churned: { type: 'boolean' },
};

function spec(validation: Record<string, unknown> = {}, schema: Record<string, unknown> = SCHEMA): ValidationSpec {
  return parsePipelineSpec({
    apiVersion: 'mlcycle/v1',
    name: 'test',
    data: { source: 'file://d.csv', target: 'churned', schema },
    validation,
    train: { trainer: 'logistic-regression' },
  });
}

function scan(rows: Record<string, unknown>[], schema: DataSchema): { profile: DatasetProfile; typeErrors: TypeErrorSummary } {
  const profiler = createProfiler(schema);
  const errors = createTypeErrorCollector();
  for (const raw of rows) {
    const { row, typeErrors } = coerceRow(raw, schema);
    errors.add(profiler.add(row, raw), typeErrors);
  }
  return { profile: profiler.finish(), typeErrors: errors.finish() };
}

function validate(rows: Record<string, unknown>[], validation: Record<string, unknown> = {}, reference?: DatasetProfile): ValidationReport {
  const s = spec(validation);
  const { profile, typeErrors } = scan(rows, s.data.schema);
  return validateDataset(profile, typeErrors, s, { reference });
}

function good(n: number): Record<string, string>[] {
  return Array.from({ length: n }, (_, i) => ({
    tenure_months: String(i % 50),
    tickets: String(i % 4),
    plan: ['basic', 'pro', 'enterprise'][i % 3]!,
    churned: i % 3 === 0 ? 'true' : 'false',
  }));
}

function check(report: ValidationReport, rule: string, column?: string) {
  const found = report.checks.filter((c) => c.rule === rule && c.column === column);
  expect(found, `${rule} ${column ?? ''}`).toHaveLength(1);
  return found[0]!;
}

describe('validateDataset', () => {
  it('counts rows without a target and fails above validation.maxMissingTarget, naming the target', () => {
    const rows = good(100).map((r, i) => (i < 5 ? { ...r, churned: '' } : r));
    const strict = validate(rows);
    expect(strict.droppedMissingTarget).toBe(5);
    expect(strict.passed).toBe(false);
    const c = check(strict, 'missing-target', 'churned');
    expect(c.passed).toBe(false);
    expect(c.message).toMatch(/target "churned": 5 .*above validation.maxMissingTarget/);
    const tolerant = validate(rows, { maxMissingTarget: 0.1 });
    expect(tolerant.droppedMissingTarget).toBe(5);
    expect(check(tolerant, 'missing-target', 'churned').passed).toBe(true);
  });

  it('a clean dataset passes every check', () => {
    const report = validate(good(100), { minRows: 50, minClassFraction: 0.2 });
    expect(report.passed).toBe(true);
    expect(report.rowCount).toBe(100);
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(summarizeFailures(report)).toBe('');
    // one check per applicable rule and column
    expect(check(report, 'min', 'tenure_months').message).toBe('column "tenure_months": no values below min 0');
    expect(check(report, 'integer', 'tickets').passed).toBe(true);
    expect(check(report, 'allowed-values', 'plan').message).toBe('column "plan": all values in [basic, pro, enterprise]');
    expect(check(report, 'min-class-fraction', 'churned').message).toContain('34%');
  });

  it('minRows', () => {
    const report = validate(good(10), { minRows: 500 });
    expect(report.passed).toBe(false);
    expect(check(report, 'min-rows')).toMatchObject({ passed: false, observed: 10, expected: 500, message: 'dataset has 10 rows, fewer than minRows 500' });
  });

  it('an empty dataset fails min-rows only', () => {
    const report = validate([]);
    expect(report.checks.filter((c) => !c.passed).map((c) => c.message)).toEqual(['dataset has 0 rows, fewer than minRows 1']);
    expect(report.checks.filter((c) => c.column !== undefined)).toEqual([]);
  });

  it('a required column missing from the data fails; an optional one may be absent', () => {
    const rows = good(20).map(({ plan: _plan, ...rest }) => rest);
    const report = validate(rows);
    expect(check(report, 'required', 'plan')).toMatchObject({ passed: false, message: 'column "plan": required column is missing from the data' });
    // no follow-on noise for the absent column
    expect(report.checks.filter((c) => c.column === 'plan')).toHaveLength(1);
    expect(report.checks.filter((c) => c.column === 'notes')).toEqual([]); // optional and absent
    expect(summarizeFailures(report)).toBe('column "plan": required column is missing from the data');
  });

  it('type errors: count and the first examples with row numbers', () => {
    const rows = good(20);
    rows[1]!.tenure_months = 'abc';
    rows[3]!.tenure_months = 'x';
    rows[5]!.churned = 'maybe';
    const report = validate(rows);
    expect(check(report, 'type', 'tenure_months')).toMatchObject({
      passed: false,
      observed: 2,
      message: 'column "tenure_months": 2 values are not numbers ("abc" at row 2, "x" at row 4)',
    });
    expect(check(report, 'type', 'churned').message).toBe('column "churned": 1 value is not a boolean (true/false/1/0/yes/no) ("maybe" at row 6)');
    expect(check(report, 'type', 'plan').passed).toBe(true);
    // Unparseable values are reported as type errors, not as missing values too.
    expect(check(report, 'max-missing-fraction', 'tenure_months')).toMatchObject({ passed: true, observed: 0 });
  });

  it('number min and max: count and first row', () => {
    const rows = good(40);
    rows[16]!.tenure_months = '-3';
    rows[20]!.tenure_months = '-5';
    rows[7]!.tickets = '25';
    const report = validate(rows);
    expect(check(report, 'min', 'tenure_months')).toMatchObject({
      passed: false,
      observed: -5,
      expected: 0,
      message: 'column "tenure_months": 2 values below min 0 (first at row 17; lowest -5)',
    });
    expect(check(report, 'max', 'tickets')).toMatchObject({ passed: false, message: 'column "tickets": 1 value above max 20 (first at row 8; highest 25)' });
    expect(check(report, 'min', 'tickets').passed).toBe(true);
  });

  it('a profile built without a bound is judged by its extreme value', () => {
    const rows = good(10);
    rows[2]!.tickets = '-1';
    const { profile, typeErrors } = scan(rows, { tickets: { type: 'number', required: true } }); // no min in the profile
    const s = spec({}, { tickets: { type: 'number', min: 0 }, churned: { type: 'boolean' } });
    const report = validateDataset({ ...profile, columns: { ...profile.columns, churned: scan(rows, s.data.schema).profile.columns.churned! } }, typeErrors, s);
    expect(check(report, 'min', 'tickets')).toMatchObject({ passed: false, message: 'column "tickets": lowest value -1 is below min 0' });
  });

  it('integer', () => {
    const rows = good(10);
    rows[4]!.tickets = '2.5';
    const report = validate(rows);
    expect(check(report, 'integer', 'tickets')).toMatchObject({ passed: false, message: 'column "tickets": 1 value is not an integer (first at row 5)' });
  });

  it('category values outside the list are named', () => {
    const rows = good(30);
    rows[2]!.plan = 'gold';
    rows[9]!.plan = 'gold';
    rows[11]!.plan = '<free>';
    const report = validate(rows);
    expect(check(report, 'allowed-values', 'plan')).toMatchObject({
      passed: false,
      observed: 3,
      message: 'column "plan": 3 values outside [basic, pro, enterprise]: "gold" (2), "<free>" (1) (first at row 3)',
    });
  });

  it('missing fraction per required column', () => {
    const rows = good(100);
    for (let i = 0; i < 10; i++) rows[i * 10]!.tenure_months = i % 2 ? '' : 'NA';
    for (let i = 0; i < 5; i++) rows[i]!.tickets = '';
    const report = validate(rows, { maxMissingFraction: 0.05 });
    expect(check(report, 'max-missing-fraction', 'tenure_months')).toMatchObject({
      passed: false,
      observed: 0.1,
      expected: 0.05,
      message: 'column "tenure_months": 10% of values missing (10 of 100), above maxMissingFraction 5%',
    });
    expect(check(report, 'max-missing-fraction', 'tickets')).toMatchObject({ passed: true, message: 'column "tickets": 5% missing (max 5%)' });
    expect(validate(rows, { maxMissingFraction: 0.1 }).passed).toBe(true);
  });

  it('optional columns are exempt from the missing fraction', () => {
    const rows = good(20).map((r, i) => ({ ...r, notes: i === 0 ? 'only one' : '' }));
    const report = validate(rows);
    expect(report.passed).toBe(true);
    expect(report.checks.filter((c) => c.column === 'notes').map((c) => c.rule)).toEqual(['type']);
  });

  it('class balance of the target', () => {
    const rows = good(100).map((r, i) => ({ ...r, churned: i < 4 ? 'true' : 'false' }));
    const report = validate(rows, { minClassFraction: 0.1 });
    expect(check(report, 'min-class-fraction', 'churned')).toMatchObject({
      passed: false,
      observed: 0.04,
      message: 'target "churned": class "true" is only 4% of labelled rows (4 of 100), below minClassFraction 10%',
    });
    // a single class: the other has 0%
    const one = validate(rows.map((r) => ({ ...r, churned: 'false' })), { minClassFraction: 0.1 });
    expect(check(one, 'min-class-fraction', 'churned')).toMatchObject({ passed: false, observed: 0 });
    // not set: not checked
    expect(validate(rows).checks.some((c) => c.rule === 'min-class-fraction')).toBe(false);
  });

  it('a category target counts declared classes that never occur', () => {
    const s = spec({ minClassFraction: 0.05 }, { y: { type: 'category', values: ['a', 'b', 'c'] }, churned: { type: 'boolean' } });
    const sp = { ...s, data: { ...s.data, target: 'y' } };
    const { profile, typeErrors } = scan(Array.from({ length: 10 }, (_, i) => ({ y: i % 2 ? 'a' : 'b', churned: 'true' })), sp.data.schema);
    const report = validateDataset(profile, typeErrors, sp);
    expect(check(report, 'min-class-fraction', 'y')).toMatchObject({ passed: false, message: expect.stringContaining('class "c" is only 0%') });
  });

  it('columns outside the schema are a warning, not a failure', () => {
    const rows = good(10).map((r) => ({ ...r, zip: '12345', email: 'a@b' }));
    const report = validate(rows);
    expect(report.passed).toBe(true);
    expect(report.extraColumns).toEqual(['email', 'zip']);
    expect(check(report, 'extra-columns')).toMatchObject({
      level: 'warning',
      passed: false,
      message: '2 columns are not in the schema and will be ignored: "email", "zip"',
    });
    expect(summarizeFailures(report)).toBe('');
  });

  it('summarizeFailures: one line per failed check', () => {
    const rows = good(10);
    rows[0]!.plan = 'gold';
    rows[1]!.tenure_months = '-1';
    const report = validate(rows, { minRows: 20 });
    expect(summarizeFailures(report).split('\n')).toEqual([
      'dataset has 10 rows, fewer than minRows 20',
      'column "tenure_months": 1 value below min 0 (first at row 2; lowest -1)',
      'column "plan": 1 value outside [basic, pro, enterprise]: "gold" (1) (first at row 1)',
    ]);
  });
});

describe('PSI against a reference profile', () => {
  const churnSpec = spec({ maxPsi: 0.2 }, CHURN_SCHEMA);
  const profileOfChurn = (seed: number, drift: number) => scan(generateChurnDataset({ rows: 4000, seed, drift }), CHURN_SCHEMA).profile;
  const reference = profileOfChurn(1, 0);

  it('hand-computed: uniform [0,100] reference, uniform [0,50] current', () => {
    const ref = { percentiles: Array.from({ length: 101 }, (_, k) => k) };
    const cur = { percentiles: Array.from({ length: 101 }, (_, k) => k / 2) };
    expect(cdf(cur.percentiles, 10)).toBeCloseTo(0.2, 12);
    expect(cdf(ref.percentiles, -1)).toBe(0);
    expect(cdf(ref.percentiles, 100)).toBe(1);
    // bins of 10%: current has 20% in each of the first five, none (floored to 1e-4) in the rest
    const expected = 5 * 0.1 * Math.log(2) + 5 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
    expect(psi(ref, cur)).toBeCloseTo(expected, 9);
    expect(psi(ref, ref)).toBeCloseTo(0, 12);
  });

  it('same population, other sample: passes', () => {
    const current = profileOfChurn(2, 0);
    const report = validateDataset(current, {}, churnSpec, { reference });
    const psis = report.checks.filter((c) => c.rule === 'psi');
    expect(psis.map((c) => c.column)).toEqual(['tenure_months', 'monthly_charges', 'support_tickets']);
    for (const c of psis) {
      expect(c.passed, c.message).toBe(true);
      expect(c.observed as number).toBeLessThan(0.05);
    }
  });

  it('a drifted population fails, naming the column', () => {
    const report = validateDataset(profileOfChurn(2, 1), {}, churnSpec, { reference });
    const failed = report.checks.filter((c) => c.rule === 'psi' && !c.passed);
    expect(failed.map((c) => c.column)).toContain('tenure_months');
    expect(failed.map((c) => c.column)).toContain('monthly_charges');
    expect(report.passed).toBe(false);
    expect(summarizeFailures(report)).toMatch(/column "tenure_months": distribution shifted from the reference: PSI \d+\.\d{3} above maxPsi 0\.2/);
  });

  it('without maxPsi, drift is a warning only', () => {
    const s = spec({}, CHURN_SCHEMA);
    const report = validateDataset(profileOfChurn(2, 1), {}, s, { reference });
    const c = check(report, 'psi', 'tenure_months');
    expect(c).toMatchObject({ level: 'warning', passed: false });
    expect(report.passed).toBe(true);
  });

  it('a reference in the spec without a reference profile is flagged', () => {
    const s = spec({ reference: 'file://ref.csv', maxPsi: 0.1 }, CHURN_SCHEMA);
    const report = validateDataset(reference, {}, s);
    expect(check(report, 'psi')).toMatchObject({ level: 'warning', passed: false });
  });
});

describe('renderValidationHtml', () => {
  it('a self-contained page with every check, pass/fail marked, all data escaped', () => {
    const rows = good(10);
    rows[0]!.plan = '<script>alert("x")</script>';
    const s = spec();
    const { profile, typeErrors } = scan(rows, s.data.schema);
    const report = validateDataset(profile, typeErrors, s);
    const html = renderValidationHtml(report, { pipeline: 'churn & co', dataset: 's3://b/k?a=<1>', generatedAt: new Date(0), profile });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/<script|<link|src=/i);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('churn &amp; co');
    expect(html).toContain('s3://b/k?a=&lt;1&gt;');
    expect(html).toContain('1970-01-01T00:00:00.000Z');
    expect(html).toContain('FAILED');
    expect(html.match(/<tr class="fail">/g)).toHaveLength(report.checks.filter((c) => !c.passed && c.level === 'error').length);
    expect(html.match(/<tr class="pass">/g)).toHaveLength(report.checks.filter((c) => c.passed).length);
    expect(html).toContain('<h2>Columns</h2>');
  });

  it('shows the schema used: declared columns marked declared, inferred ones inferred, the target named, rules in spec words', () => {
    const s = spec();
    const { profile, typeErrors } = scan(good(10), s.data.schema);
    const report = validateDataset(profile, typeErrors, s);
    const declared = renderValidationHtml(report, { schema: s.data.schema, target: 'churned' });
    expect(declared).toContain('<h2>Schema</h2>');
    expect(declared).toContain('Declared in the spec (data.schema).');
    expect(declared).toContain('<tr><td>tickets</td><td>number</td><td>integer; min 0; max 20; required</td><td class="declared">declared</td></tr>');
    expect(declared).toContain('<tr><td>plan</td><td>category</td><td>values: basic, pro, enterprise; required</td><td class="declared">declared</td></tr>');
    expect(declared).toContain('<tr><td>churned (target)</td><td>boolean</td>');
    expect(declared).not.toContain('class="inferred"');
    const inferred = renderValidationHtml(report, { schema: s.data.schema, schemaInferred: true, target: 'churned' });
    expect(inferred).toContain('data.schema: infer');
    expect(inferred.match(/<td class="inferred">inferred<\/td>/g)).toHaveLength(Object.keys(s.data.schema).length);
    expect(renderValidationHtml(report, {})).not.toContain('<h2>Schema</h2>');
  });
});

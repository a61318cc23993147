/**
 * Approval payloads for the fuzz suites: decisions with one or more fields broken (wrong type,
 * missing, unknown, huge, nested, blank) or replaced by arbitrary JSON, and an oracle, written
 * independently of the product's schema, that says which payloads a pending gate must accept.
 */
import fc from 'fast-check';

export const APPROVERS = ['alice', 'bob', 'carol'];
export const FIELDS = ['decision', 'identity', 'comment', 'reason'] as const;

/** A value too big or deep to print: built when used, shown by name in counterexamples. */
export class Lazy {
  constructor(
    readonly name: string,
    readonly make: () => unknown,
  ) {}
  [fc.toStringMethod](): string {
    return `<${this.name}>`;
  }
}
const materialize = (v: unknown): unknown => (v instanceof Lazy ? v.make() : v);

const badValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, '', ' ', '\t\n', 'APPROVE', 'approved', 'yes', 'mallory', 'Alice', ' alice', '\u0000', '\ud800'),
  fc.constantFrom<unknown>([], {}, ['approve'], { identity: 'alice' }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    new Lazy('20 001-character string', () => 'z'.repeat(20_001)),
    new Lazy('list nested 3000 deep', () => {
      let v: unknown = 'alice';
      for (let i = 0; i < 3000; i++) v = [v];
      return v;
    }),
  ),
);

export type Edit = { kind: 'set'; field: (typeof FIELDS)[number]; value: unknown } | { kind: 'drop'; field: (typeof FIELDS)[number] } | { kind: 'extra'; key: string; value: unknown };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), field: fc.constantFrom(...FIELDS), value: badValue }),
  fc.record({ kind: fc.constant('drop' as const), field: fc.constantFrom(...FIELDS) }),
  fc.record({ kind: fc.constant('extra' as const), key: fc.oneof(fc.constantFrom('reson', 'Decision', 'identities', 'votes', 'status', 'at', 'via', 'toString'), fc.stringMatching(/^[a-z]{1,8}$/)), value: badValue }),
);

/** A decision someone might send: valid to start with, then edited; or any JSON at all. */
export interface Payload {
  base: { decision: string; identity: string; comment?: string; reason?: string };
  edits: Edit[];
  /** Replaces the whole payload when set. */
  whole?: unknown;
}

export const payload: fc.Arbitrary<Payload> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      base: fc.record(
        {
          decision: fc.constantFrom('approve', 'reject'),
          identity: fc.constantFrom(...APPROVERS, 'mallory'),
          comment: fc.string({ maxLength: 20 }),
          reason: fc.constantFrom('', ' ', 'metrics regressed'),
        },
        { requiredKeys: ['decision', 'identity'] },
      ),
      edits: fc.array(edit, { maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ base: fc.constant({ decision: 'approve', identity: 'alice' }), edits: fc.constant<Edit[]>([]), whole: fc.jsonValue({ maxDepth: 3 }) }) },
);

/** The payload as sent, and the fields its edits broke. */
export function buildPayload(p: Payload): { value: unknown; broken: string[] | undefined } {
  // A whole replacement breaks no field in particular: any may be named.
  if ('whole' in p) return { value: p.whole, broken: undefined };
  const value: Record<string, unknown> = { ...p.base };
  const broken: string[] = [];
  for (const e of p.edits) {
    if (e.kind === 'drop') delete value[e.field];
    else if (e.kind === 'set') value[e.field] = materialize(e.value);
    else Object.defineProperty(value, e.key, { value: materialize(e.value), enumerable: true, configurable: true, writable: true });
    broken.push(e.kind === 'extra' ? e.key : e.field);
  }
  return { value, broken };
}

/** Whether a pending gate with these approvers (nobody has voted) must accept `v`. */
export function acceptable(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (Object.keys(o).some((k) => !(FIELDS as readonly string[]).includes(k))) return false;
  if (o.decision !== 'approve' && o.decision !== 'reject') return false;
  if (typeof o.identity !== 'string' || !APPROVERS.includes(o.identity)) return false;
  for (const k of ['comment', 'reason'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || (o[k]).length > 10_000)) return false;
  }
  if (o.decision === 'reject' && (typeof o.reason !== 'string' || o.reason.trim() === '')) return false;
  return true;
}

/** The reasons a gate refuses a well-formed decision (see workflows/approval-gate.ts refusal()). */
export const REFUSALS = [/is not on the approver list/, /has already voted/, /a rejection needs a reason/, /the approval gate is closed/];

/**
 * Whether a refusal message names what is wrong: each broken field as `field: …`, an unknown key
 * by its name, a payload that is no object as such, or one of the gate's rules. With `broken`
 * given, every field the message names must be one that was broken.
 */
export function namesProblem(message: string, broken: string[] | undefined): boolean {
  if (REFUSALS.some((re) => re.test(message))) return true;
  const m = /^invalid (decision|vote): ([\s\S]*)$/.exec(message);
  if (!m) return false;
  // Parts start with a field path; a key named in a part may itself hold "; ".
  return m[2]!.split(/; (?=(?:\(root\)|decision|identity|comment|reason): )/).every((part) => {
    const cut = part.indexOf(': ');
    if (cut <= 0) return false;
    const [path, what] = [part.slice(0, cut), part.slice(cut + 2)];
    if (path === '(root)') {
      if (/^expected a (decision|vote) /.test(what)) return broken === undefined;
      const keys = /^Unrecognized keys?: (.*)$/.exec(what);
      return keys !== null && (broken === undefined || broken.some((k) => keys[1]!.includes(JSON.stringify(k))));
    }
    return (FIELDS as readonly string[]).includes(path) && (broken === undefined || broken.includes(path));
  });
}

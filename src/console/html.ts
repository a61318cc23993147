/**
 * The console's HTML templating: one tagged template that escapes every interpolated value unless
 * it is already markup made by this module. A page is built from `html\`…\`` fragments only, so a
 * model name, a comment in an audit entry or a metric key can never become markup. No library fit
 * better than these few lines (the report kit of src/training escapes by hand, call by call).
 */

/** Markup produced by `html` (or deliberately by `raw`): interpolated without escaping. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeText(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ESCAPES[c] as string);
}

/** A value's markup: SafeHtml as is, arrays joined, nullish and false as nothing, the rest escaped. */
function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeText(String(value));
}

/** `html\`<td>${name}</td>\``: every `${…}` escaped unless it is SafeHtml (nested html`` fragments). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** Trusted markup (SVG this module's callers generated from numbers and escaped text). Never user input. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** A path with escaped segments: `href(\`/models/${name}\`)` is wrong; `path('models', name)` is right. */
export function path(...segments: Array<string | number>): string {
  return '/' + segments.map((s) => encodeURIComponent(String(s))).join('/');
}

export function query(base: string, params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}

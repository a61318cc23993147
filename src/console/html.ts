/**
 * The console's HTML templating: one tagged template that escapes every interpolated value unless
 * it is already markup made by this module. A page is built from `html\`…\`` fragments only, so a
 * model name, a comment in an audit entry or a metric key can never become markup. The templating itself
 * is the report kit's (src/reports/html.ts); this module adds the console's URL helpers.
 */

export { html, raw, joinHtml, SafeHtml, escapeHtml as escapeText } from '../reports/html';

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

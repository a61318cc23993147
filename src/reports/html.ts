/**
 * Auto-escaping HTML for the reports: `html` is a tagged template whose interpolated values are
 * escaped unless they are themselves `html` fragments (or `raw` markup), so a report cannot forget
 * to escape a column name, a category or a model name.
 *
 * Written here rather than taken from npm: html-template-tag escapes nested fragments unless each
 * call site opts out with `$${}`; hono's `html` helper comes with a whole web framework; lit-html
 * renders to a string only through @lit-labs/ssr and its DOM shims.
 */

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` with &, <, >, " and ' replaced by entities: safe in element content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/** Markup that is already safe: the result of `html`, or `raw` for trusted constants. */
export class SafeHtml {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/**
 * What may be interpolated: fragments as they are; strings and numbers escaped; arrays rendered
 * item by item, concatenated; `null`, `undefined` and `false` as nothing (so `${cond && html`…`}`
 * works).
 */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

/** A fragment of HTML: the template's literal parts as written, every interpolated value escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Trusted markup, not escaped: only for constants of the program (a stylesheet), never for data. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** Fragments joined with `separator` (itself markup, e.g. '\n' or '<br>'). */
export function joinHtml(parts: readonly HtmlValue[], separator = ''): SafeHtml {
  return new SafeHtml(parts.map(render).join(separator));
}

/**
 * The page shell every HTML report shares: one self-contained document (inline CSS and SVG, no
 * scripts, nothing fetched). The Content-Security-Policy makes that a property of the page, not
 * only of the code that built it: a browser would refuse any script or remote resource in it.
 */
import { html, raw, type SafeHtml } from './html';

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export interface ReportPage {
  /** The document title (escaped). */
  title: string;
  /** The stylesheet: a constant of the report's module, inlined as it is. */
  style: string;
  body: SafeHtml;
}

/** The whole document as a string, starting with `<!DOCTYPE html>`. */
export function renderPage(page: ReportPage): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${page.title}</title>
<style>${raw(page.style)}</style>
</head>
<body>
${page.body}
</body>
</html>
`.markup;
}

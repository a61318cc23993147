import type { z } from 'zod';

/** Renders zod issues as `path: message` lines, so every error names the field that was wrong. */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      // An empty key is shown as "" rather than dropped, which would blame its parent instead.
      const path = [...(prefix ? [prefix] : []), ...issue.path.map((k) => (String(k) === '' ? '""' : String(k)))].join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}

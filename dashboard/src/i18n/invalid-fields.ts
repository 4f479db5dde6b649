import type { z } from 'zod';

/**
 * The fields a protocol schema refused, each once and in the user's language, for a form's
 * "please check: …" line. `labels` maps a field to its i18n key; a field without one shows as is.
 */
export function invalidFields(issues: readonly z.core.$ZodIssue[], labels: Record<string, string>, t: (key: string) => string): string {
  return [...new Set(issues.map((i) => String(i.path[0] ?? '')))].map((f) => (labels[f] ? t(labels[f]) : f)).join('、');
}

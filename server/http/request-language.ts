import type { Request } from 'express';
import type { Language } from '../services/errors.ts';

/**
 * The language a caller reads, from its Accept-Language header: the dashboard sends its own
 * locale with every request, so the switch in its top bar decides, not the browser's setting.
 * English when the header names neither language (scripts, venue boxes, curl).
 */
export function requestLanguage(req: Pick<Request, 'headers'>): Language {
  const header = req.headers['accept-language'];
  if (!header) return 'en';
  let best: { language: Language; q: number } | null = null;
  for (const part of header.split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const language: Language | null = tag === 'zh' || tag.startsWith('zh-') ? 'zh' : tag === 'en' || tag.startsWith('en-') ? 'en' : null;
    if (!language) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number.parseFloat(qParam.slice(2)) : 1;
    // Equal weights keep the header's order: the first named wins.
    if (Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { language, q };
  }
  return best?.language ?? 'en';
}

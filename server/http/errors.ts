import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ApiError, ErrorCode } from '../../protocol/index.ts';
import { AppError, httpStatusOf, type UserText } from '../services/errors.ts';
import { requestLanguage } from './request-language.ts';

/** Sends `{error: {code, message}}`, the message in the language the request asked for. */
export function sendError(res: Response, code: ErrorCode, message: string | UserText): void {
  const text = typeof message === 'string' ? message : message[requestLanguage(res.req)];
  const body: ApiError = { error: { code, message: text } };
  res.status(httpStatusOf[code]).json(body);
}

const zodChinese = z.locales.zhCN().localeError;

/**
 * Parses with a protocol schema or throws a 400 naming the first bad field. `what` names the input
 * for the person who sent it; zod's own words come in both languages from its locales.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string | UserText): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.');
  // The failure path only: parse again for zod's Chinese wording of the same first issue.
  const zhIssue = schema.safeParse(value, { error: zodChinese }).error?.issues[0];
  const name = typeof what === 'string' ? { en: what, zh: '请求内容' } : what;
  throw new AppError('bad_request', {
    en: `${name.en}: ${field ? `${field}: ` : ''}${issue.message}`,
    zh: `${name.zh}有误：${field ? `${field}：` : ''}${zhIssue?.message ?? issue.message}`,
  });
}

export const apiNotFound: RequestHandler = (req, res) => {
  sendError(res, 'not_found', {
    en: `no API route ${req.method} ${req.path}: see docs for the routes`,
    zh: `没有接口 ${req.method} ${req.path}：请查阅文档中的接口列表`,
  });
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof AppError) return sendError(res, err.code, err.messageIn(requestLanguage(req)));
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') return sendError(res, 'bad_request', { en: 'the request body is not valid JSON', zh: '请求内容不是有效的 JSON' });
    if (e.type === 'entity.too.large') return sendError(res, 'payload_too_large', { en: 'the request body is too large', zh: '请求内容过大' });
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendError(res, 'bad_request', e.message ?? 'bad request');
    logger.error({ err, method: req.method, path: req.path }, 'request failed');
    sendError(res, 'internal', { en: 'the centre failed to answer this request; the error is in its log', zh: '中心未能处理此请求，错误已记入中心日志' });
  };
}

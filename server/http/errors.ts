import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ApiError, ErrorCode } from '../../protocol/index.ts';
import { AppError, httpStatusOf } from '../services/errors.ts';

export function sendError(res: Response, code: ErrorCode, message: string): void {
  const body: ApiError = { error: { code, message } };
  res.status(httpStatusOf[code]).json(body);
}

/** Parses with a protocol schema or throws a 400 naming the first bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.');
  throw new AppError('bad_request', `${what}: ${field ? `${field}: ` : ''}${issue.message}`);
}

export const apiNotFound: RequestHandler = (req, res) => {
  sendError(res, 'not_found', `no API route ${req.method} ${req.path}: see docs for the routes`);
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof AppError) return sendError(res, err.code, err.message);
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.parse.failed') return sendError(res, 'bad_request', 'the request body is not valid JSON');
    if (e.type === 'entity.too.large') return sendError(res, 'payload_too_large', 'the request body is too large');
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return sendError(res, 'bad_request', e.message ?? 'bad request');
    logger.error({ err, method: req.method, path: req.path }, 'request failed');
    sendError(res, 'internal', 'the centre failed to answer this request; the error is in its log');
  };
}

import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

/**
 * Every HTTP request the box makes — to its cameras (clock checks, unicast probes) and to the centre
 * (uploads, reconcile, live segments) — goes through node:http, which the `onvif` package loads for
 * every camera anyway. `fetch` would bring undici with it, a second HTTP client: an agent recording
 * one camera kept 4.7 MB more resident with it, of its ~80 MB (docs/benchmarks.md).
 *
 * Answers are read whole, up to a cap (a camera or a centre answers a few KB; anything larger is
 * refused, never buffered). Redirects are not followed: neither a camera nor the centre has a reason
 * to send one, and following it would send the box's credentials elsewhere.
 */

/** Answers the box reads are JSON or SOAP of a few KB. */
export const DEFAULT_MAX_ANSWER_BYTES = 1024 * 1024;

export class HttpAnswerTooLarge extends Error {
  override name = 'HttpAnswerTooLarge';
}

export class HttpTimeout extends Error {
  override name = 'HttpTimeout';
  readonly code = 'ETIMEDOUT';
}

export interface HttpAnswer {
  readonly status: number;
  /** 2xx. */
  readonly ok: boolean;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  text(): string;
  /** The body parsed as JSON, or null when it is not JSON. */
  json(): unknown;
}

export interface HttpRequestOptions {
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  /** A string or buffer is sent with its length; a stream is sent chunked, and its error fails the request. */
  body?: string | Buffer | Readable;
  /** For the whole exchange, answer included. */
  timeoutMs: number;
  maxAnswerBytes?: number;
}

export function httpRequest(target: string | URL, opts: HttpRequestOptions): Promise<HttpAnswer> {
  const url = typeof target === 'string' ? new URL(target) : target;
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  const method = opts.method ?? 'GET';
  const where = `${method} ${url.origin}${url.pathname}`;
  if (!transport) return Promise.reject(new Error(`${where}: only http:// and https:// addresses can be used`));
  const max = opts.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const { body } = opts;
  const streamed = body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body);
  const headers: Record<string, string | number> = { ...opts.headers };
  if (body !== undefined && !streamed) headers['content-length'] = Buffer.byteLength(body);

  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (streamed) body.destroy();
      reject(err);
    };
    const req = transport.request(url, { method, headers }, (res) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > max) return fail(new HttpAnswerTooLarge(`${where}: answer of ${declared} bytes exceeds the ${max} bytes accepted`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) fail(new HttpAnswerTooLarge(`${where}: answer exceeds the ${max} bytes accepted`));
        else chunks.push(chunk);
      });
      const cut = (why: string) => fail(new Error(`${where}: the connection closed before the answer was complete (${why})`));
      res.on('error', (err) => cut(err.message));
      res.on('close', () => {
        if (!res.complete) return cut('closed');
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // A centre may answer (413, 401) before it has read the whole body: the file is not needed any more.
        if (streamed && !body.readableEnded) body.destroy();
        resolve(answer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks, size)));
      });
    });
    const timer = setTimeout(() => fail(new HttpTimeout(`${where}: no complete answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('error', fail);
    if (streamed) {
      body.on('error', fail);
      body.pipe(req);
    } else {
      req.end(body);
    }
  });
}

function answer(status: number, headers: http.IncomingHttpHeaders, body: Buffer): HttpAnswer {
  return {
    status,
    ok: status >= 200 && status < 300,
    headers,
    body,
    text: () => body.toString('utf8'),
    json: () => {
      try {
        return JSON.parse(body.toString('utf8')) as unknown;
      } catch {
        return null;
      }
    },
  };
}

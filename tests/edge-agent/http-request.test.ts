import { execFile, execFileSync } from 'node:child_process';
import { createReadStream, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAnswerTooLarge, HttpTimeout, httpRequest } from '../../edge-agent/http/http-request.ts';
import { hasCommand, need } from '../support/prerequisites.ts';
import { freePort, scratchDir } from './agent-fixture.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** Runs `code` (ESM) in a fresh node with tsx; asynchronously, since the servers here answer from this process's event loop. */
const child = (code: string, env: NodeJS.ProcessEnv = process.env) =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, env }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );

/** A centre/camera stand-in: each path answers the way one test needs. */
describe('the box’s HTTP client (node:http, no fetch)', () => {
  let server: http.Server;
  let base: string;
  const received: { method: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      // Refuses before reading the body, as the centre does a segment over its size limit.
      if (req.url === '/early') return res.writeHead(413, { connection: 'close' }).end('{"error":{"code":"too_large"}}');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method!, headers: req.headers, body: Buffer.concat(chunks) });
        const u = new URL(req.url!, 'http://x');
        if (u.pathname === '/json') return res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ got: Buffer.concat(chunks).length }));
        if (u.pathname === '/huge-declared') return res.writeHead(200, { 'content-length': String(2 * 1024 * 1024) }).end(Buffer.alloc(2 * 1024 * 1024));
        if (u.pathname === '/huge-chunked') {
          res.writeHead(200);
          for (let i = 0; i < 40; i++) res.write(Buffer.alloc(64 * 1024, 0x41));
          return res.end();
        }
        if (u.pathname === '/redirect') return res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end('moved');
        if (u.pathname === '/slow') return setTimeout(() => res.end('late'), 3000);
        if (u.pathname === '/cut') {
          res.writeHead(200, { 'content-length': '1000' });
          res.write('only a part');
          return setTimeout(() => res.socket?.destroy(), 50);
        }
        res.writeHead(404).end('no such path');
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends a body with its length and reads the answer as text and JSON', async () => {
    const res = await httpRequest(`${base}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}', timeoutMs: 5000 });
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.json()).toEqual({ got: 7 });
    expect(received.at(-1)!.headers['content-length']).toBe('7');
    const missing = await httpRequest(`${base}/nothing`, { timeoutMs: 5000 });
    expect(missing.ok).toBe(false);
    expect(missing.status).toBe(404);
    expect(missing.text()).toBe('no such path');
    expect(missing.json()).toBeNull();
  });

  it('streams a file body whole', async () => {
    const tmp = scratchDir('http-request');
    const file = path.join(tmp.dir, 'segment.ts');
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    writeFileSync(file, bytes);
    const res = await httpRequest(`${base}/json`, { method: 'PUT', body: createReadStream(file, { highWaterMark: 16 * 1024 }), timeoutMs: 5000 });
    expect(res.json()).toEqual({ got: bytes.length });
    expect(received.at(-1)!.body.equals(bytes)).toBe(true);
    tmp.remove();
  });

  it('takes an answer given before the body was read, and lets go of the file', async () => {
    const tmp = scratchDir('http-request');
    const file = path.join(tmp.dir, 'big.ts');
    writeFileSync(file, Buffer.alloc(8 * 1024 * 1024, 0x47));
    const body = createReadStream(file, { highWaterMark: 16 * 1024 });
    const res = await httpRequest(`${base}/early`, { method: 'PUT', body, timeoutMs: 5000 });
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({ error: { code: 'too_large' } });
    expect(body.destroyed).toBe(true);
    tmp.remove();
  });

  it('fails with the file’s own error when the body cannot be read', async () => {
    const tmp = scratchDir('http-request');
    const gone = createReadStream(path.join(tmp.dir, 'deleted.ts'));
    await expect(httpRequest(`${base}/json`, { method: 'PUT', body: gone, timeoutMs: 5000 })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(gone.destroyed).toBe(true);
    tmp.remove();
  });

  it('refuses answers over the cap, declared or not, without buffering them', async () => {
    await expect(httpRequest(`${base}/huge-declared`, { timeoutMs: 5000 })).rejects.toBeInstanceOf(HttpAnswerTooLarge);
    await expect(httpRequest(`${base}/huge-chunked`, { timeoutMs: 5000, maxAnswerBytes: 64 * 1024 })).rejects.toThrow(/exceeds the 65536 bytes accepted/);
  });

  it('gives up after its timeout, and when the connection is cut mid-answer', async () => {
    const t0 = Date.now();
    await expect(httpRequest(`${base}/slow`, { timeoutMs: 300 })).rejects.toBeInstanceOf(HttpTimeout);
    expect(Date.now() - t0).toBeLessThan(2500);
    await expect(httpRequest(`${base}/cut`, { timeoutMs: 5000 })).rejects.toThrow(/closed before the answer was complete/);
  });

  it('does not follow redirects, and names refused connections and other schemes', async () => {
    const res = await httpRequest(`${base}/redirect`, { timeoutMs: 5000 });
    expect(res.status).toBe(302);
    expect(res.ok).toBe(false);
    const closed = await freePort();
    await expect(httpRequest(`http://127.0.0.1:${closed}/x`, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(httpRequest('ftp://127.0.0.1/x', { timeoutMs: 5000 })).rejects.toThrow(/only http:\/\/ and https:\/\//);
  });

  it('never loads undici: a request through it leaves node’s fetch implementation unloaded', async () => {
    const probe = `
      import { httpRequest } from './edge-agent/http/http-request.ts';
      await httpRequest(${JSON.stringify(`${base}/json`)}, { method: 'POST', body: 'x', timeoutMs: 5000 });
      const loaded = process.moduleLoadList.filter((m) => m.includes('undici'));
      process.stdout.write(JSON.stringify(loaded));`;
    const control = `
      await fetch(${JSON.stringify(`${base}/json`)}, { method: 'POST', body: 'x' }).then((r) => r.text());
      process.stdout.write(JSON.stringify(process.moduleLoadList.filter((m) => m.includes('undici'))));`;
    expect(JSON.parse(await child(control))).not.toEqual([]); // the check can see undici when it is there
    expect(JSON.parse(await child(probe))).toEqual([]);
  });

  it('is the only way the edge agent makes HTTP requests: no global fetch in its sources', () => {
    const agentRoot = path.join(root, 'edge-agent');
    const sources = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const p = path.join(dir, name);
        return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
      });
    const offenders = sources(agentRoot).filter((file) => /(^|[^.\w])fetch\s*\(/m.test(readFileSync(file, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')));
    expect(offenders.map((f) => path.relative(agentRoot, f))).toEqual([]);
    expect(sources(agentRoot).length).toBeGreaterThan(30);
  });

  it.runIf(need(hasCommand('openssl') ? { ok: true } : { ok: false, reason: 'openssl missing: apt-get install openssl' }))(
    'speaks HTTPS to a centre with a private certificate, trusted through NODE_EXTRA_CA_CERTS as the README says',
    async () => {
      const tmp = scratchDir('http-request-tls');
      const cert = path.join(tmp.dir, 'cert.pem');
      const key = path.join(tmp.dir, 'key.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
      const tls = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"over":"tls"}'));
      });
      const port = await freePort();
      await new Promise<void>((r) => tls.listen(port, '127.0.0.1', () => r()));
      const code = `
        import { httpRequest } from './edge-agent/http/http-request.ts';
        const res = await httpRequest('https://127.0.0.1:${port}/api/ingest/reconcile', { method: 'POST', body: '{}', timeoutMs: 5000 })
          .then((r) => r.json(), (e) => ({ failed: e.code ?? e.message }));
        process.stdout.write(JSON.stringify(res));`;
      try {
        expect(JSON.parse(await child(code, { ...process.env, NODE_EXTRA_CA_CERTS: cert }))).toEqual({ over: 'tls' });
        expect(JSON.parse(await child(code, { ...process.env, NODE_EXTRA_CA_CERTS: '' }))).toEqual({ failed: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      } finally {
        await new Promise<void>((r) => tls.close(() => r()));
        tmp.remove();
      }
    },
    20_000,
  );
});

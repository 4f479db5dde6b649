import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchRecord, recordReport } from './record.ts';
import { benchUpload, uploadReport } from './upload.ts';
import { benchDiscovery } from './discovery.ts';
import { benchLive } from './live.ts';

/**
 * `npm run bench [-- name …]`: runs the benchmarks and rewrites their sections of
 * docs/benchmarks.md. Every figure is a ratio against a baseline measured in the same run, so the
 * report holds on a slower or busier machine. BENCH_SECONDS shortens or lengthens each window.
 */
const root = path.resolve(import.meta.dirname, '..');
const docPath = path.join(root, 'docs/benchmarks.md');
const seconds = Number(process.env.BENCH_SECONDS ?? 30);

type Bench = () => Promise<string>;
const benches: Record<string, Bench> = {
  record: async () => {
    const counts = (process.env.BENCH_CAMERAS ?? '1,4,8,16').split(',').map(Number);
    const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
    // 90 s: past the runtime's start-up work — V8's memory reducer runs its full collections 25–65 s
    // after start (~0.3 s of CPU at N = 8, seen at 42–44 s), and the first answers to the cameras'
    // event pulls (60 s after subscribing) compile their code once. The box records for weeks: the
    // steady state is what counts.
    const warmupSeconds = Number(process.env.BENCH_WARMUP ?? 90);
    // A whole minute: each camera's event pull and its renewal come once a minute, so every window
    // holds one round of them (a 30 s window held one round or none, ±0.3 % of a core at N = 8).
    const recordSeconds = Number(process.env.BENCH_SECONDS ?? 60);
    // BENCH_MODE: interleaved, concurrent, or both (the default; two methods that agree are worth more than one).
    const modes = (process.env.BENCH_MODE ?? 'both') === 'both' ? (['interleaved', 'concurrent'] as const) : [process.env.BENCH_MODE as 'interleaved' | 'concurrent'];
    const reports: string[] = [];
    for (const mode of modes) reports.push(recordReport(await benchRecord({ counts, seconds: recordSeconds, rounds, warmupSeconds, mode })));
    return reports.join('\n\n');
  },
  upload: async () => uploadReport(await benchUpload({ seconds, cameras: 8 })),
  discovery: () => benchDiscovery(),
  live: () => benchLive(),
};

function replaceSection(doc: string, name: string, body: string): string {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${body}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) return doc.slice(0, i) + block + doc.slice(j + end.length);
  return `${doc.trimEnd()}\n\n## ${name}\n\n${block}\n`;
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(benches);
let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Benchmarks\n';
for (const name of names) {
  const bench = benches[name];
  if (!bench) throw new Error(`no benchmark "${name}": choose from ${Object.keys(benches).join(', ')}`);
  console.log(`Running bench/${name}…`);
  const body = await bench();
  const stamp = `_Measured ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}._`;
  doc = replaceSection(doc, name, `${stamp}\n\n${body}`);
  console.log(body);
}
writeFileSync(docPath, doc);
console.log(`Wrote ${path.relative(root, docPath)}`);

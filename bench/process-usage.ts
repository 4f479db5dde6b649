import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU time and resident memory of a set of processes and all their descendants, read from /proc
 * (Linux). CPU comes in clock ticks; the kernel's USER_HZ is 100 on every Linux we run on.
 */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

interface ProcStat {
  pid: number;
  name: string;
  ppid: number;
  cpuTicks: number;
  rssBytes: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    return { pid, name, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]), rssBytes: Number(fields[21]) * PAGE_BYTES };
  } catch {
    return null;
  }
}

/** The given roots and every living descendant of theirs. */
export function processTree(roots: number[]): ProcStat[] {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => readStat(Number(d))).filter((s): s is ProcStat => s !== null);
  const byParent = new Map<number, ProcStat[]>();
  for (const s of all) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  const out: ProcStat[] = [];
  const queue = all.filter((s) => roots.includes(s.pid));
  while (queue.length) {
    const s = queue.shift()!;
    out.push(s);
    queue.push(...(byParent.get(s.pid) ?? []));
  }
  return out;
}

export interface Usage {
  /** CPU seconds used per wall-clock second (1.0 = one core). */
  cores: number;
  /** Mean resident memory over the window, bytes. */
  rssBytes: number;
  /** CPU (cores) by process name, e.g. { node: 0.004, ffmpeg: 0.08 }. */
  byName: Record<string, number>;
}

/**
 * Measures the process trees under `roots` for `seconds`, sampling memory every second. CPU of a
 * process that starts inside the window counts from its start; none of ours should.
 */
export async function measure(roots: () => number[], seconds: number): Promise<Usage> {
  const names = new Map<number, string>();
  const cpuAt = (): Map<number, number> => new Map(processTree(roots()).map((s) => (names.set(s.pid, s.name), [s.pid, s.cpuTicks])));
  const start = cpuAt();
  const t0 = process.hrtime.bigint();
  const rss: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.push(processTree(roots()).reduce((sum, s) => sum + s.rssBytes, 0));
  }
  const end = cpuAt();
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  let ticks = 0;
  const byName: Record<string, number> = {};
  for (const [pid, t] of end) {
    const used = t - (start.get(pid) ?? 0);
    ticks += used;
    const name = names.get(pid) ?? '?';
    byName[name] = (byName[name] ?? 0) + used / TICKS_PER_SECOND / elapsed;
  }
  return { cores: ticks / TICKS_PER_SECOND / elapsed, rssBytes: rss.reduce((a, b) => a + b, 0) / rss.length, byName };
}

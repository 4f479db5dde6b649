import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU time and memory of a set of processes and all their descendants, read from /proc (Linux).
 *
 * CPU is the scheduler's own run time of every thread (/proc/<pid>/task/<tid>/schedstat, in ns,
 * user + system): /proc/<pid>/stat counts 10 ms ticks, and one camera recorded for 30 s uses only
 * ~30 of them, so a tick either way moved a ratio by 3 %. Run time is what the process used,
 * whatever else the machine is doing (other load delays it, it does not add to it). A thread that
 * ends inside the window takes its time with it; ffmpeg's and node's threads live for the run.
 * Memory: RSS (what `ps` shows; shared libraries count once in every process) and PSS (each shared
 * page split between the processes that map it: what N processes really take together).
 */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

export interface ProcStat {
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

/**
 * Run time of all threads of a process, ns, and how many times they were put on a CPU (schedstat's
 * third field: each wake-up of a sleeping thread is one). Falls back to 10 ms ticks, and no count,
 * where schedstat is missing.
 */
function runTime(p: ProcStat): { ns: number; slices: number } {
  try {
    let ns = 0;
    let slices = 0;
    for (const tid of readdirSync(`/proc/${p.pid}/task`)) {
      const f = readFileSync(`/proc/${p.pid}/task/${tid}/schedstat`, 'utf8').split(' ');
      ns += Number(f[0]);
      slices += Number(f[2]);
    }
    return { ns, slices };
  } catch {
    return { ns: (p.cpuTicks / TICKS_PER_SECOND) * 1e9, slices: 0 };
  }
}

function pssBytes(pid: number): number | null {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Busy and total CPU time of the whole machine so far (jiffies, all cores), from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

export interface Usage {
  /** Wall-clock seconds measured. */
  seconds: number;
  /** CPU seconds used (all processes of the tree) in the window. */
  cpuSeconds: number;
  /** CPU seconds used per wall-clock second (1.0 = one core). */
  cores: number;
  /** Mean resident memory over the window, bytes. */
  rssBytes: number;
  /** Mean proportional set size over the window, bytes (null where smaps_rollup is missing). */
  pssBytes: number | null;
  /** CPU (cores) by process name, e.g. { node: 0.004, ffmpeg: 0.08 }. */
  byName: Record<string, number>;
  /** Mean RSS by process name, bytes. */
  rssByName: Record<string, number>;
  /** Times a thread of the process went on a CPU, per second, by process name (its wake-ups). */
  slicesByName: Record<string, number>;
  /** The whole machine's busy share over the window (1.0 = every core busy): the load we ran under. */
  machineBusy: number;
}

/**
 * Measures the process trees under `roots` for `seconds`, sampling memory every second. CPU of a
 * process that starts inside the window counts from its start; none of ours should.
 */
export async function measure(roots: () => number[], seconds: number): Promise<Usage> {
  const names = new Map<number, string>();
  const cpuAt = (): Map<number, { ns: number; slices: number }> => new Map(processTree(roots()).map((s) => (names.set(s.pid, s.name), [s.pid, runTime(s)])));
  const m0 = machineCpu();
  const start = cpuAt();
  const t0 = process.hrtime.bigint();
  const rss: number[] = [];
  const pss: number[] = [];
  const rssByName: Record<string, number> = {};
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const tree = processTree(roots());
    rss.push(tree.reduce((sum, s) => sum + s.rssBytes, 0));
    for (const s of tree) rssByName[s.name] = (rssByName[s.name] ?? 0) + s.rssBytes / seconds;
    // PSS walks page tables (a fraction of a ms per process): every 5 s is enough for a mean.
    if (i % 5 === 0) {
      const p = tree.map((s) => pssBytes(s.pid));
      if (p.every((x) => x !== null)) pss.push(p.reduce((a, b) => a! + b!, 0)!);
    }
  }
  const end = cpuAt();
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const m1 = machineCpu();
  let ns = 0;
  const byName: Record<string, number> = {};
  const slicesByName: Record<string, number> = {};
  for (const [pid, t] of end) {
    const used = t.ns - (start.get(pid)?.ns ?? 0);
    ns += used;
    const name = names.get(pid) ?? '?';
    byName[name] = (byName[name] ?? 0) + used / 1e9 / elapsed;
    slicesByName[name] = (slicesByName[name] ?? 0) + (t.slices - (start.get(pid)?.slices ?? 0)) / elapsed;
  }
  return {
    seconds: elapsed,
    cpuSeconds: ns / 1e9,
    cores: ns / 1e9 / elapsed,
    rssBytes: rss.reduce((a, b) => a + b, 0) / rss.length,
    pssBytes: pss.length ? pss.reduce((a, b) => a + b, 0) / pss.length : null,
    byName,
    rssByName,
    slicesByName,
    machineBusy: (m1.busy - m0.busy) / Math.max(1, m1.total - m0.total),
  };
}

/** Usage of several windows of the same setup, as if measured in one window (CPU and memory time-weighted). */
export function combine(windows: Usage[]): Usage {
  const seconds = windows.reduce((a, w) => a + w.seconds, 0);
  const cpuSeconds = windows.reduce((a, w) => a + w.cpuSeconds, 0);
  const weighted = (f: (w: Usage) => number) => windows.reduce((a, w) => a + f(w) * w.seconds, 0) / seconds;
  const keys = (f: (w: Usage) => Record<string, number>) => [...new Set(windows.flatMap((w) => Object.keys(f(w))))];
  const byKey = (f: (w: Usage) => Record<string, number>) => Object.fromEntries(keys(f).map((k) => [k, weighted((w) => f(w)[k] ?? 0)]));
  return {
    seconds,
    cpuSeconds,
    cores: cpuSeconds / seconds,
    rssBytes: weighted((w) => w.rssBytes),
    pssBytes: windows.every((w) => w.pssBytes !== null) ? weighted((w) => w.pssBytes!) : null,
    byName: byKey((w) => w.byName),
    rssByName: byKey((w) => w.rssByName),
    slicesByName: byKey((w) => w.slicesByName),
    machineBusy: weighted((w) => w.machineBusy),
  };
}

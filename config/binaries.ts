import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * Where ffmpeg and ffprobe come from: FFMPEG_PATH / FFPROBE_PATH, else the system's on PATH
 * (Debian's is current and complete), else the static build an npm package ships so a machine
 * with only Node still records. Nothing is downloaded at run time.
 */
const require = createRequire(import.meta.url);

function onPath(name: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function fromPackage(pkg: string): string | null {
  try {
    return (require(pkg) as { path: string }).path;
  } catch {
    return null;
  }
}

const cache = new Map<string, string>();

function resolve(name: 'ffmpeg' | 'ffprobe', envVar: string, pkg: string): string {
  const hit = cache.get(name);
  if (hit) return hit;
  const found = process.env[envVar] || onPath(name) || fromPackage(pkg);
  if (!found) {
    throw new Error(`${name} not found: install it (apt-get install ffmpeg), run npm install for ${pkg}, or set ${envVar}`);
  }
  cache.set(name, found);
  return found;
}

export const ffmpegPath = (): string => resolve('ffmpeg', 'FFMPEG_PATH', '@ffmpeg-installer/ffmpeg');
export const ffprobePath = (): string => resolve('ffprobe', 'FFPROBE_PATH', '@ffprobe-installer/ffprobe');

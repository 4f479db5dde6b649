import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ffmpegPath } from '../../config/binaries.ts';
import { barcodeFilters, barcodeLayout, decodeBarcode } from '../../simulator/camera/clock-barcode.ts';

const run = promisify(execFile);

/** Paints the barcode of `second` into a grey RGBA frame the way the drawbox filters do. */
function paint(second: number, width: number, height: number, flip?: number): Uint8ClampedArray {
  const px = new Uint8ClampedArray(width * height * 4).fill(128);
  const { cell, x0, y0, bandY } = barcodeLayout(width, height);
  const box = (x: number, y: number, w: number, h: number, v: number): void => {
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) px.fill(v, (yy * width + xx) * 4, (yy * width + xx) * 4 + 3);
  };
  box(0, bandY, width, height - bandY, 0);
  const bits = [1, ...Array.from({ length: 32 }, (_, i) => Math.floor(second / 2 ** (31 - i)) % 2)];
  bits.push(bits.slice(1).reduce((a, b) => a + b, 0) % 2);
  if (flip !== undefined) bits[flip] = 1 - bits[flip]!;
  bits.forEach((b, i) => box(x0 + i * cell, y0, cell, cell, b ? 255 : 0));
  return px;
}

describe('clock barcode', () => {
  it('decodes the epoch second it was painted with', () => {
    for (const [w, h] of [[640, 360], [320, 180], [1280, 720]] as const) {
      expect(decodeBarcode(paint(1_795_641_989, w, h), w, h)).toBe(1_795_641_989);
    }
  });

  it('returns null on a parity error or a frame without the band', () => {
    expect(decodeBarcode(paint(1_795_641_989, 320, 180, 7), 320, 180)).toBeNull();
    expect(decodeBarcode(new Uint8ClampedArray(320 * 180 * 4).fill(200), 320, 180)).toBeNull();
  });

  it('ffmpeg burns the wall clock of the moment it draws the frame, not its start time plus the frame time', async () => {
    const [w, h] = [320, 180];
    // A frame 500 s into its stream: a clock of "start + t" would show 500 s ahead of now.
    const frameAt = async (offsetSeconds: number): Promise<{ shown: number | null; before: number; after: number }> => {
      const before = Date.now() / 1000;
      const vf = ['setpts=PTS+500/TB', ...barcodeFilters(offsetSeconds, { width: w, height: h })].join(',');
      const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-f', 'lavfi', '-i', `color=gray:size=${w}x${h}:rate=1`, '-frames:v', '1', '-vf', vf, '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1'], { encoding: 'buffer', maxBuffer: 8 << 20 });
      return { shown: decodeBarcode(stdout, w, h), before, after: Date.now() / 1000 };
    };
    const now = await frameAt(0);
    expect(now.shown).not.toBeNull();
    expect(now.shown!).toBeGreaterThanOrEqual(Math.floor(now.before));
    expect(now.shown!).toBeLessThanOrEqual(now.after);
    // A camera whose clock is an hour fast shows an hour ahead.
    const fast = await frameAt(3600);
    expect(fast.shown!).toBeGreaterThanOrEqual(Math.floor(fast.before + 3600));
    expect(fast.shown!).toBeLessThanOrEqual(fast.after + 3600);
  });
});

import { describe, expect, it } from 'vitest';
import { barcodeLayout, decodeBarcode } from '../../simulator/camera/clock-barcode.ts';

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
});

import { existsSync } from 'node:fs';

/**
 * A wall clock burned into the simulated video in a form tests can read back from decoded pixels:
 * a band at the bottom of the frame with a white start cell, then 32 cells for the bits of the Unix
 * epoch second (most significant first) and one even-parity cell; white = 1, black = 0. Cells are
 * big (up to 16×16 px) so H.264 at low bitrate keeps them readable. The band is drawn with ffmpeg
 * drawbox filters whose `enable` expressions compute the bits from the frame time `t`, so no
 * per-frame work happens outside ffmpeg.
 */

export const DATA_BITS = 32;
/** Start marker + data bits + parity bit. */
const CELLS = 1 + DATA_BITS + 1;

export interface BarcodeLayout {
  cell: number;
  /** Left edge of the first (start marker) cell. */
  x0: number;
  /** Top edge of the cells. */
  y0: number;
  /** Top of the black band behind the cells. */
  bandY: number;
  bandHeight: number;
}

/** Geometry shared by the drawing and the decoding side: a pure function of the frame size. */
export function barcodeLayout(width: number, height: number): BarcodeLayout {
  const cell = Math.max(4, Math.min(16, Math.floor(width / (CELLS + 2)), Math.floor(height / 6)));
  const bandHeight = cell * 2;
  const bandY = height - bandHeight;
  return { cell, x0: cell, y0: bandY + Math.floor(cell / 2), bandY, bandHeight };
}

/**
 * ffmpeg filter strings (to join with ",") drawing the barcode of wall-clock second
 * floor(now + clockOffsetSeconds), "now" read (expression `time(0)`) as each frame is drawn. Not
 * the spawn time plus the frame time `t`: that lags the real clock by however long ffmpeg took to
 * start, seconds on a loaded machine, and the camera's clock would be wrong by it. With `-re` a
 * frame is drawn when it is due, so this is when a real camera would have captured it.
 */
export function barcodeFilters(clockOffsetSeconds: number, size: { width: number; height: number }): string[] {
  const { cell, x0, y0, bandY, bandHeight } = barcodeLayout(size.width, size.height);
  // Thickness equal to the box size fills it in every ffmpeg version (t=fill is newer than 2018).
  const box = (x: number, y: number, w: number, h: number, color: string, enable?: string): string =>
    `drawbox=x=${x}:y=${y}:w=${w}:h=${h}:color=${color}:t=${Math.max(w, h)}` + (enable ? `:enable='${enable}'` : '');
  const second = `floor(time(0)+${clockOffsetSeconds.toFixed(3)})`;
  const bit = (b: number): string => `mod(floor(${second}/${2 ** b}),2)`;
  const filters = [box(0, bandY, size.width, bandHeight, 'black'), box(x0, y0, cell, cell, 'white')];
  for (let i = 0; i < DATA_BITS; i++) {
    const b = DATA_BITS - 1 - i; // most significant bit first
    filters.push(box(x0 + (i + 1) * cell, y0, cell, cell, 'white', `eq(${bit(b)},1)`));
  }
  const parity = Array.from({ length: DATA_BITS }, (_, b) => bit(b)).join('+');
  filters.push(box(x0 + (DATA_BITS + 1) * cell, y0, cell, cell, 'white', `eq(mod(${parity},2),1)`));
  // Commas inside the enable expressions would split the filter chain: the quotes protect them.
  // Each box reads the clock itself: a frame drawn across a second boundary (a window of
  // microseconds a second) can mix two seconds, which the parity cell shows in most cases.
  return filters;
}

/** Mean luma of the centre of a cell (a 1/2-cell square), from RGBA pixels. */
function cellLuma(rgba: Uint8Array | Uint8ClampedArray, width: number, x: number, y: number, cell: number): number {
  const inset = Math.floor(cell / 4);
  let sum = 0;
  let n = 0;
  for (let yy = y + inset; yy < y + cell - inset; yy++) {
    for (let xx = x + inset; xx < x + cell - inset; xx++) {
      const i = (yy * width + xx) * 4;
      sum += 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
      n++;
    }
  }
  return n ? sum / n : 0;
}

/**
 * Reads the epoch second from a decoded RGBA frame; null when the band is missing or the parity
 * (or the start marker) does not check out.
 */
export function decodeBarcode(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): number | null {
  if (rgba.length < width * height * 4) return null;
  const { cell, x0, y0 } = barcodeLayout(width, height);
  if (x0 + CELLS * cell > width || y0 + cell > height) return null;
  const bits: number[] = [];
  for (let i = 0; i < CELLS; i++) {
    const luma = cellLuma(rgba, width, x0 + i * cell, y0, cell);
    if (luma > 160) bits.push(1);
    else if (luma < 96) bits.push(0);
    else return null; // neither black nor white: not our band, or a smeared frame
  }
  // The black margin left of the start cell tells our band from a bright picture.
  if (bits[0] !== 1 || cellLuma(rgba, width, 0, y0, cell) > 96) return null;
  const data = bits.slice(1, 1 + DATA_BITS);
  const ones = data.reduce((a, b) => a + b, 0);
  if (ones % 2 !== bits[1 + DATA_BITS]) return null;
  return data.reduce((acc, b) => acc * 2 + b, 0);
}

const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf',
];

/** A font drawtext can use, or null (then the human-readable clock is left out). */
export function findFont(): string | null {
  return FONT_CANDIDATES.find((f) => existsSync(f)) ?? null;
}


/**
 * Human-readable clock (local time of the machine running ffmpeg) and a label at the top-left;
 * null when no font file exists.
 */
export function clockTextFilter(epochStartSeconds: number, size: { width: number; height: number }, label?: string): string | null {
  const font = findFont();
  if (!font) return null;
  const fontsize = Math.max(10, Math.round(size.height / 20));
  // Only plain ASCII survives the three escaping levels of a filtergraph (and DejaVu has no CJK).
  const safe = (label ?? '').replace(/[^A-Za-z0-9 ._-]/g, '').trim();
  const prefix = safe ? `${safe}  ` : '';
  // %{pts:localtime:OFFSET} prints OFFSET + pts as a local date and time; supported since 2016.
  const text = `${prefix}%{pts\\:localtime\\:${Math.floor(epochStartSeconds)}}`;
  // The offset is whole seconds (drawtext parses it as a duration), and counts from ffmpeg's spawn,
  // so the text can be behind the barcode by its start-up: it is for people, the barcode for tests.
  return `drawtext=fontfile=${font}:text='${text}':x=8:y=8:fontsize=${fontsize}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=4`;
}

/**
 * Tells, from the bytes of one MPEG-TS segment as they are read for hashing, whether the segment
 * carries the camera's audio. ffmpeg keeps the audio stream in the PMT when the camera stops
 * sending it mid-run and only the audio packets disappear, so the per-run codec list cannot see
 * it; counting packets here costs a few byte reads per 188-byte packet (no second read of the file,
 * no ffprobe process per segment).
 *
 * "Carries audio" = an audio PES whose PTS is no more than STALE_TICKS before the segment's first
 * video PTS. When the audio stops, ffmpeg may still flush a few frames from before the loss into a
 * later segment (seen: frames 5 s old); those do not count.
 *
 * It also keeps the segment's first and last video PTS, which date footage no playlist lists any
 * more (an orphaned recorder's early segments, recorder/orphan-footage.ts).
 */

const PACKET = 188;
const SYNC = 0x47;
/** PMT stream types of audio: MPEG-1/2 audio, AAC (ADTS, LATM), AC-3, E-AC-3, and G.711 as private data is not used by ffmpeg's muxer. */
const AUDIO_STREAM_TYPES = new Set([0x03, 0x04, 0x0f, 0x11, 0x81, 0x87]);
/** ffmpeg's names of the PMT stream types it writes (video is stream-copied: the camera's own codec). */
const VIDEO_CODECS: Record<number, string> = { 0x01: 'mpeg1video', 0x02: 'mpeg2video', 0x10: 'mpeg4', 0x1b: 'h264', 0x24: 'hevc' };
const AUDIO_CODECS: Record<number, string> = { 0x03: 'mp2', 0x04: 'mp2', 0x0f: 'aac', 0x11: 'aac_latm', 0x81: 'ac3', 0x87: 'eac3' };
const PTS_WRAP = 2 ** 33;
const STALE_TICKS = 90_000; // 1 s at 90 kHz

/** ms from PTS a to PTS b (negative when b is earlier), across the 33-bit wrap. */
export function ptsDeltaMs(a: number, b: number): number {
  let d = (b - a + PTS_WRAP) % PTS_WRAP;
  if (d > PTS_WRAP / 2) d -= PTS_WRAP;
  return d / 90;
}

/** The codecs a recording holds, as ffmpeg names them (e.g. "h264", "hevc", "aac"); null: none. */
export interface Codecs {
  video: string | null;
  audio: string | null;
}

export class TsProbe {
  private carry: Buffer | null = null;
  private pmtPid = -1;
  /** Audio PIDs as flags indexed by PID (13 bits): the test runs on every packet, a Set lookup cost more. */
  private readonly audioPids = new Uint8Array(0x2000);
  private audioStreams = 0;
  private videoPid = -1;
  private videoType = -1;
  private audioType = -1;
  private sawPmt = false;
  /** PTS (90 kHz) of the first video PES; ticks from it to the latest video PTS; video PES count. */
  firstVideoPts: number | null = null;
  videoSpanTicks = 0;
  videoFrames = 0;
  private lastAudioPts: number | null = null;
  private audioPackets = 0;
  private broken = false;

  /** Feed the file's bytes in order (any chunking). Bound so it can be passed as a callback. */
  readonly push = (chunk: Buffer): void => {
    if (this.broken) return;
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let i = 0;
    for (; i + PACKET <= buf.length; i += PACKET) {
      if (buf[i] !== SYNC) {
        this.broken = true; // not 188-byte MPEG-TS: the caller falls back to what it knew before
        return;
      }
      this.packet(buf, i);
    }
    if (i < buf.length) this.carry = Buffer.from(buf.subarray(i));
  };

  /**
   * Frames per second the camera delivered in this segment, from its video timestamps (frames
   * between the first and last, over the time between them); null with fewer than two frames.
   */
  fps(): number | null {
    if (this.broken || this.videoFrames < 2 || this.videoSpanTicks <= 0) return null;
    return ((this.videoFrames - 1) * 90_000) / this.videoSpanTicks;
  }

  /**
   * true / false once the segment was read; null when the bytes were not MPEG-TS with a PMT
   * (then nothing can be said from them).
   */
  result(): boolean | null {
    if (this.broken || !this.sawPmt) return null;
    if (this.audioStreams === 0 || this.audioPackets === 0 || this.lastAudioPts === null) return false;
    if (this.firstVideoPts === null) return true;
    // Ticks the newest audio lies before the first video frame, modulo the 33-bit wrap.
    const behind = (this.firstVideoPts - this.lastAudioPts + PTS_WRAP) % PTS_WRAP;
    return behind <= STALE_TICKS || behind > PTS_WRAP / 2;
  }

  /**
   * The segment's codecs from its PMT; null when the bytes had none. The recorder reads them here
   * rather than from ffmpeg's stream listing, which it prints only at the info log level — and at
   * that level the HLS muxer also prints two lines a segment, each a wake-up of the agent.
   */
  codecs(): Codecs | null {
    if (this.broken || !this.sawPmt) return null;
    return { video: VIDEO_CODECS[this.videoType] ?? null, audio: AUDIO_CODECS[this.audioType] ?? null };
  }

  private packet(b: Buffer, at: number): void {
    const pid = ((b[at + 1]! & 0x1f) << 8) | b[at + 2]!;
    const unitStart = (b[at + 1]! & 0x40) !== 0;
    // Most packets continue a video frame: nothing in them is needed.
    if (pid === this.videoPid && !unitStart) return;
    const afc = (b[at + 3]! >> 4) & 0x3;
    if (afc === 0 || afc === 2) return; // no payload
    let p = at + 4;
    if (afc === 3) p += 1 + b[p]!;
    const end = at + PACKET;
    if (p >= end) return;
    if (pid === 0 && unitStart) this.pat(b, p + 1 + b[p]!, end);
    else if (pid === this.pmtPid && unitStart) this.pmt(b, p + 1 + b[p]!, end);
    else if (this.audioPids[pid] === 1) {
      this.audioPackets++;
      if (unitStart) {
        const pts = pesPts(b, p, end);
        if (pts !== null) this.lastAudioPts = pts;
      }
    } else if (pid === this.videoPid && unitStart) {
      const pts = pesPts(b, p, end);
      if (pts === null) return;
      this.videoFrames++;
      if (this.firstVideoPts === null) this.firstVideoPts = pts;
      const ahead = (pts - this.firstVideoPts + PTS_WRAP) % PTS_WRAP;
      if (ahead < PTS_WRAP / 2) this.videoSpanTicks = Math.max(this.videoSpanTicks, ahead);
    }
  }

  private pat(b: Buffer, p: number, end: number): void {
    if (p + 8 > end || b[p] !== 0x00) return;
    const sectionEnd = Math.min(end, p + 3 + (((b[p + 1]! & 0x0f) << 8) | b[p + 2]!) - 4);
    for (let q = p + 8; q + 4 <= sectionEnd; q += 4) {
      const program = (b[q]! << 8) | b[q + 1]!;
      if (program !== 0) {
        this.pmtPid = ((b[q + 2]! & 0x1f) << 8) | b[q + 3]!;
        return;
      }
    }
  }

  private pmt(b: Buffer, p: number, end: number): void {
    if (p + 12 > end || b[p] !== 0x02) return;
    const sectionEnd = Math.min(end, p + 3 + (((b[p + 1]! & 0x0f) << 8) | b[p + 2]!) - 4);
    const programInfo = ((b[p + 10]! & 0x0f) << 8) | b[p + 11]!;
    this.sawPmt = true;
    for (let q = p + 12 + programInfo; q + 5 <= sectionEnd; ) {
      const type = b[q]!;
      const pid = ((b[q + 1]! & 0x1f) << 8) | b[q + 2]!;
      if (AUDIO_STREAM_TYPES.has(type)) {
        if (this.audioPids[pid] === 0) this.audioStreams++;
        this.audioPids[pid] = 1;
        if (this.audioType < 0) this.audioType = type;
      } else if (this.videoPid < 0 && VIDEO_CODECS[type] !== undefined) {
        this.videoPid = pid;
        this.videoType = type;
      }
      q += 5 + (((b[q + 3]! & 0x0f) << 8) | b[q + 4]!);
    }
  }
}

/** PTS of a PES header starting at p, or null. */
function pesPts(b: Buffer, p: number, end: number): number | null {
  if (p + 14 > end || b[p] !== 0 || b[p + 1] !== 0 || b[p + 2] !== 1) return null;
  if ((b[p + 7]! & 0x80) === 0) return null;
  const t = p + 9;
  return (
    ((b[t]! >> 1) & 0x07) * 2 ** 30 +
    b[t + 1]! * 2 ** 22 +
    (b[t + 2]! >> 1) * 2 ** 15 +
    b[t + 3]! * 2 ** 7 +
    (b[t + 4]! >> 1)
  );
}

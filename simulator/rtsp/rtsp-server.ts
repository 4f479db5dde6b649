import net from 'node:net';
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { DigestAuthenticator, type Credentials } from './digest-auth.ts';

/**
 * A small RTSP 1.0 server with RTP interleaved over the RTSP TCP connection only, which is how the
 * edge agent talks to cameras (`-rtsp_transport tcp`). Local ffmpeg processes publish a camera's
 * stream into a path (ANNOUNCE/SETUP/RECORD); readers play it (DESCRIBE/SETUP/PLAY) with the
 * per-path credentials a real camera would demand. Packets are relayed as they arrive: a reader
 * that joins gets the stream from then on, and a reader that cannot keep up loses packets instead
 * of growing our memory.
 */

export interface RtspServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  logger?: Logger;
  /** Realm in the Digest challenge. */
  realm?: string;
  /** Let publishers connect from non-loopback addresses (default false: publishers are our own ffmpeg). */
  allowRemotePublish?: boolean;
  /** Bytes queued to a reader's socket beyond which packets to that reader are dropped (default 2 MiB). */
  readerHighWaterMark?: number;
}

export interface RtspServer {
  readonly port: number;
  readonly host: string;
  /** Readers of `path` must present these credentials; null removes the requirement. */
  setCredentials(path: string, creds: Credentials | null): void;
  /** True while a publisher is recording into `path`. */
  isPublishing(path: string): boolean;
  /** Current number of playing readers of `path`. */
  readerCount(path: string): number;
  /** Drops every reader of `path` (as a camera reboot would). */
  kickReaders(path: string): void;
  /**
   * Stops (true) or resumes (false) relaying the audio tracks of `path` to its readers while video
   * keeps flowing, as when a camera's microphone is unplugged or its audio encoder dies.
   */
  muteAudio(path: string, muted: boolean): void;
  close(): Promise<void>;
}

interface Track {
  /** Control name readers use in SETUP: trackID=<index>. */
  control: string;
  /** Video codec whose keyframes we can recognise, so a new reader starts on one. */
  keyframeCodec: 'h264' | 'h265' | null;
  audio: boolean;
  /** Control name the publisher used in its ANNOUNCE (ffmpeg: streamid=<index>). */
  publisherControl: string;
}

interface Reader {
  conn: Conn;
  /** Reader's channel for RTP of track i (RTCP is +1); undefined when the track was not set up. */
  channels: (number | undefined)[];
  playing: boolean;
  dropped: number;
  /** Per track: still waiting for the first keyframe before relaying video. */
  waitKeyframe: boolean[];
}

interface Stream {
  path: string;
  sdp: string;
  tracks: Track[];
  publisher: Conn;
  /** Publisher channel → [track index, isRtcp]. */
  publisherChannels: Map<number, [number, boolean]>;
  readers: Set<Reader>;
  recording: boolean;
}

interface Conn {
  id: number;
  socket: net.Socket;
  session: string | null;
  role: 'unknown' | 'publisher' | 'reader';
  stream: Stream | null;
  reader: Reader | null;
  /** Stream a reader DESCRIBEd or SETUP; its tracks are fixed at that moment. */
  readerPath: string | null;
}

interface Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

const MAX_HEADER_BYTES = 16 * 1024;
const MAX_BODY_BYTES = 64 * 1024;
const SERVER_NAME = 'VenueWatch-Simulator RTSP/1.0';
const METHODS = 'OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, PAUSE, GET_PARAMETER, SET_PARAMETER, TEARDOWN';
const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Request Entity Too Large',
  454: 'Session Not Found',
  455: 'Method Not Valid In This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  500: 'Internal Server Error',
};

/** Normalises a request URL (absolute rtsp:// or a bare path) to its path without slashes at the ends. */
function pathOf(url: string): string {
  let p = url;
  const m = /^rtsps?:\/\/[^/]*(\/.*)?$/i.exec(url);
  if (m) p = m[1] ?? '/';
  p = p.split('?')[0]!;
  try {
    p = decodeURIComponent(p);
  } catch {
    /* keep as is */
  }
  return p.replace(/^\/+|\/+$/g, '');
}

function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

/** Splits an SDP into its session part and media sections. */
function splitSdp(sdp: string): { session: string[]; media: string[][] } {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  const session: string[] = [];
  const media: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) media.push([line]);
    else if (media.length > 0) media.at(-1)!.push(line);
    else session.push(line);
  }
  return { session, media };
}

/**
 * Turns the publisher's SDP into the one readers get: one a=control per track that names the
 * track relative to the Content-Base (trackID=N), an aggregate a=control:* and a neutral c= line,
 * so readers SETUP every track through this server.
 */
function readerSdp(sdp: string, host: string): { sdp: string; tracks: Track[] } {
  const { session, media } = splitSdp(sdp);
  const tracks: Track[] = [];
  const out: string[] = [];
  for (const line of session) {
    if (line.startsWith('a=control:')) continue;
    if (line.startsWith('c=')) out.push(`c=IN IP4 0.0.0.0`);
    else if (line.startsWith('o=')) out.push(`o=- 0 0 IN IP4 ${net.isIPv4(host) ? host : '127.0.0.1'}`);
    else out.push(line);
  }
  out.push('a=control:*');
  media.forEach((section, i) => {
    const control = `trackID=${i}`;
    let publisherControl = `streamid=${i}`;
    let keyframeCodec: Track['keyframeCodec'] = null;
    for (const line of section) {
      if (section[0]!.startsWith('m=video') && /^a=rtpmap:\d+\s+H264\//i.test(line)) keyframeCodec = 'h264';
      if (section[0]!.startsWith('m=video') && /^a=rtpmap:\d+\s+(H265|HEVC)\//i.test(line)) keyframeCodec = 'h265';
      if (line.startsWith('a=control:')) {
        publisherControl = line.slice('a=control:'.length).trim();
        continue;
      }
      out.push(line);
    }
    out.push(`a=control:${control}`);
    tracks.push({ control, publisherControl, keyframeCodec, audio: section[0]!.startsWith('m=audio') });
  });
  return { sdp: out.join('\r\n') + '\r\n', tracks };
}

/**
 * True when an RTP packet starts a keyframe access unit (parameter sets or the first fragment of
 * an IDR/IRAP picture), so a reader that joins mid-GOP can begin there instead of on P-frames
 * its decoder cannot use.
 */
export function startsKeyframe(codec: 'h264' | 'h265', rtp: Buffer): boolean {
  if (rtp.length < 14) return false;
  const cc = rtp[0]! & 0x0f;
  let off = 12 + cc * 4;
  if (rtp[0]! & 0x10) {
    if (rtp.length < off + 4) return false;
    off += 4 + rtp.readUInt16BE(off + 2) * 4;
  }
  if (rtp.length <= off + 2) return false;
  if (codec === 'h264') {
    const type = rtp[off]! & 0x1f;
    if (type === 5 || type === 7) return true;
    if (type === 24) return [5, 7].includes(rtp[off + 3]! & 0x1f); // STAP-A: first NAL after its size
    if (type === 28) return (rtp[off + 1]! & 0x80) !== 0 && (rtp[off + 1]! & 0x1f) === 5; // FU-A start
    return false;
  }
  const type = (rtp[off]! >> 1) & 0x3f;
  if ((type >= 16 && type <= 21) || (type >= 32 && type <= 34)) return true;
  if (type === 48) return rtp.length > off + 4 && (((rtp[off + 4]! >> 1) & 0x3f) >= 16 && ((rtp[off + 4]! >> 1) & 0x3f) <= 34); // AP
  if (type === 49) {
    const fu = rtp[off + 2]!;
    return (fu & 0x80) !== 0 && (fu & 0x3f) >= 16 && (fu & 0x3f) <= 21; // FU start
  }
  return false;
}

/** Parses `RTP/AVP/TCP;unicast;interleaved=0-1;mode=record` into its parts. */
function parseTransport(header: string | undefined): { tcp: boolean; interleaved: [number, number] | null; record: boolean } | null {
  if (!header) return null;
  // A client may offer several transports separated by commas; take the first TCP one.
  for (const offer of header.split(',')) {
    const parts = offer.split(';').map((p) => p.trim());
    const proto = parts[0]!.toUpperCase();
    if (!proto.startsWith('RTP/AVP')) continue;
    const tcp = proto === 'RTP/AVP/TCP';
    if (!tcp) continue;
    let interleaved: [number, number] | null = null;
    let record = false;
    for (const p of parts.slice(1)) {
      const [k, v] = p.split('=');
      if (k?.toLowerCase() === 'interleaved' && v) {
        const [a, b] = v.split('-').map(Number);
        if (Number.isInteger(a) && a! >= 0 && a! < 255) interleaved = [a!, Number.isInteger(b) ? b! : a! + 1];
      }
      if (k?.toLowerCase() === 'mode' && v && /record/i.test(v)) record = true;
    }
    return { tcp, interleaved, record };
  }
  return { tcp: false, interleaved: null, record: false };
}

export async function startRtspServer(options: RtspServerOptions = {}): Promise<RtspServer> {
  const host = options.host ?? '127.0.0.1';
  const log = (options.logger ?? pino({ name: 'rtsp-server' })).child({ component: 'rtsp-server' });
  const auth = new DigestAuthenticator(options.realm ?? 'VenueWatch Simulator');
  const highWater = options.readerHighWaterMark ?? 2 * 1024 * 1024;
  const streams = new Map<string, Stream>();
  const credentials = new Map<string, Credentials>();
  const conns = new Set<Conn>();
  let nextConnId = 1;

  function send(conn: Conn, status: number, cseq: string | undefined, headers: Record<string, string | number> = {}, body?: string): void {
    if (conn.socket.destroyed) return;
    const lines = [`RTSP/1.0 ${status} ${REASONS[status] ?? 'Error'}`, `CSeq: ${cseq ?? '0'}`, `Server: ${SERVER_NAME}`, `Date: ${new Date().toUTCString()}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    const payload = body ? Buffer.from(body) : null;
    if (payload) lines.push(`Content-Length: ${payload.length}`);
    conn.socket.write(lines.join('\r\n') + '\r\n\r\n');
    if (payload) conn.socket.write(payload);
  }

  function sessionHeader(conn: Conn): string {
    conn.session ??= randomBytes(8).toString('hex');
    return `${conn.session};timeout=60`;
  }

  /** Finds the stream a URL refers to: the path itself or, for a track URL, its parent. */
  function streamPathOf(url: string): { path: string; control: string | null } {
    const p = pathOf(url);
    if (streams.has(p) || credentials.has(p)) return { path: p, control: null };
    const slash = p.lastIndexOf('/');
    if (slash >= 0) return { path: p.slice(0, slash), control: p.slice(slash + 1) };
    return { path: p, control: null };
  }

  function authorised(conn: Conn, req: Request, path: string): boolean {
    const creds = credentials.get(path);
    if (!creds) return true;
    if (auth.verify(req.headers['authorization'], req.method, creds)) return true;
    log.info({ path, remote: conn.socket.remoteAddress, method: req.method, hadCredentials: Boolean(req.headers['authorization']) }, 'reader refused: wrong or missing credentials');
    send(conn, 401, req.headers['cseq'], { 'WWW-Authenticate': auth.challenge() });
    return false;
  }

  function detachReader(conn: Conn): void {
    if (conn.reader && conn.stream) conn.stream.readers.delete(conn.reader);
    conn.reader = null;
    if (conn.role === 'reader') conn.stream = null;
  }

  function endStream(stream: Stream, why: string): void {
    if (streams.get(stream.path) !== stream) return;
    streams.delete(stream.path);
    log.info({ path: stream.path, readers: stream.readers.size, why }, 'publisher gone: closing its readers');
    // A camera whose encoder stops drops its clients; the recorder then sees EOF and reconnects.
    for (const r of stream.readers) r.conn.socket.destroy();
    stream.readers.clear();
  }

  function handleRequest(conn: Conn, req: Request): void {
    const cseq = req.headers['cseq'];
    switch (req.method) {
      case 'OPTIONS':
        send(conn, 200, cseq, { Public: METHODS });
        return;
      case 'ANNOUNCE': {
        // Our own ffmpeg connects over loopback, or to the listen address of this same machine.
        const local = isLoopback(conn.socket.remoteAddress) || conn.socket.remoteAddress === conn.socket.localAddress;
        if (!options.allowRemotePublish && !local) {
          send(conn, 403, cseq);
          return;
        }
        const path = pathOf(req.url);
        const sdp = req.body.toString('utf8');
        if (!path || !sdp.includes('m=')) {
          send(conn, 400, cseq);
          return;
        }
        const old = streams.get(path);
        if (old && old.publisher !== conn) {
          old.publisher.socket.destroy();
          endStream(old, 'replaced by a new publisher');
        }
        const { sdp: rsdp, tracks } = readerSdp(sdp, host);
        const stream: Stream = { path, sdp: rsdp, tracks, publisher: conn, publisherChannels: new Map(), readers: new Set(), recording: false };
        streams.set(path, stream);
        conn.role = 'publisher';
        conn.stream = stream;
        log.info({ path, tracks: tracks.length }, 'publisher announced');
        send(conn, 200, cseq, { Session: sessionHeader(conn) });
        return;
      }
      case 'DESCRIBE': {
        const path = pathOf(req.url);
        if (!authorised(conn, req, path)) return;
        const stream = streams.get(path);
        if (!stream) {
          send(conn, 404, cseq);
          return;
        }
        conn.role = 'reader';
        conn.readerPath = path;
        const base = `rtsp://${req.headers['host'] ?? `${host}:${server.port}`}/${path}/`;
        send(conn, 200, cseq, { 'Content-Base': /^rtsp:\/\//i.test(req.url) ? `${req.url.replace(/\/+$/, '')}/` : base, 'Content-Type': 'application/sdp' }, stream.sdp);
        return;
      }
      case 'SETUP': {
        const transport = parseTransport(req.headers['transport']);
        if (!transport || !transport.tcp) {
          send(conn, 461, cseq);
          return;
        }
        if (conn.role === 'publisher' || transport.record) {
          const stream = conn.stream;
          if (!stream || stream.publisher !== conn) {
            send(conn, 455, cseq);
            return;
          }
          const { control } = streamPathOf(req.url);
          let index = stream.tracks.findIndex((t) => t.publisherControl === control);
          if (index < 0) index = stream.publisherChannels.size / 2;
          if (index >= stream.tracks.length) {
            send(conn, 404, cseq);
            return;
          }
          const [rtp, rtcp] = transport.interleaved ?? [index * 2, index * 2 + 1];
          stream.publisherChannels.set(rtp, [index, false]);
          stream.publisherChannels.set(rtcp, [index, true]);
          send(conn, 200, cseq, { Transport: `RTP/AVP/TCP;unicast;interleaved=${rtp}-${rtcp};mode=record`, Session: sessionHeader(conn) });
          return;
        }
        const { path, control } = streamPathOf(req.url);
        if (!authorised(conn, req, path)) return;
        const stream = streams.get(path);
        if (!stream) {
          send(conn, 404, cseq);
          return;
        }
        const index = control === null ? (stream.tracks.length === 1 ? 0 : -1) : stream.tracks.findIndex((t) => t.control === control);
        if (index < 0) {
          send(conn, 404, cseq);
          return;
        }
        if (conn.stream && conn.stream !== stream) detachReader(conn);
        conn.role = 'reader';
        conn.stream = stream;
        conn.reader ??= { conn, channels: [], playing: false, dropped: 0, waitKeyframe: [] };
        conn.reader.waitKeyframe[index] = stream.tracks[index]!.keyframeCodec !== null;
        const used = new Set(conn.reader.channels.filter((c): c is number => c !== undefined).flatMap((c) => [c, c + 1]));
        let [rtp, rtcp] = transport.interleaved ?? [index * 2, index * 2 + 1];
        if (used.has(rtp) || used.has(rtcp)) {
          rtp = Math.max(...used) + 1;
          rtcp = rtp + 1;
        }
        conn.reader.channels[index] = rtp;
        send(conn, 200, cseq, { Transport: `RTP/AVP/TCP;unicast;interleaved=${rtp}-${rtcp}`, Session: sessionHeader(conn) });
        return;
      }
      case 'RECORD': {
        if (conn.role !== 'publisher' || !conn.stream) {
          send(conn, 455, cseq);
          return;
        }
        conn.stream.recording = true;
        log.info({ path: conn.stream.path }, 'publisher recording');
        send(conn, 200, cseq, { Session: sessionHeader(conn) });
        return;
      }
      case 'PLAY': {
        if (conn.role !== 'reader' || !conn.reader || !conn.stream) {
          send(conn, 455, cseq);
          return;
        }
        if (!authorised(conn, req, conn.stream.path)) return;
        conn.reader.playing = true;
        conn.stream.readers.add(conn.reader);
        log.info({ path: conn.stream.path, remote: conn.socket.remoteAddress, readers: conn.stream.readers.size }, 'reader playing');
        send(conn, 200, cseq, { Session: sessionHeader(conn), Range: 'npt=0.000-' });
        return;
      }
      case 'PAUSE': {
        if (conn.reader) conn.reader.playing = false;
        send(conn, 200, cseq, conn.session ? { Session: sessionHeader(conn) } : {});
        return;
      }
      case 'GET_PARAMETER':
      case 'SET_PARAMETER':
        send(conn, 200, cseq, conn.session ? { Session: sessionHeader(conn) } : {});
        return;
      case 'TEARDOWN': {
        if (conn.role === 'publisher' && conn.stream) endStream(conn.stream, 'publisher teardown');
        else detachReader(conn);
        send(conn, 200, cseq, conn.session ? { Session: sessionHeader(conn) } : {});
        return;
      }
      default:
        send(conn, 405, cseq, { Allow: METHODS });
    }
  }

  /** Paths whose audio is not relayed (muteAudio). */
  const mutedAudio = new Set<string>();

  /** Relays one interleaved packet from a publisher to every playing reader of its track. */
  function relay(stream: Stream, channel: number, payload: Buffer): void {
    const mapping = stream.publisherChannels.get(channel);
    if (!mapping) return;
    const [track, isRtcp] = mapping;
    const codec = stream.tracks[track]?.keyframeCodec ?? null;
    if (stream.tracks[track]?.audio && mutedAudio.has(stream.path)) return;
    let keyframe: boolean | null = null;
    for (const reader of stream.readers) {
      const base = reader.channels[track];
      if (!reader.playing || base === undefined) continue;
      if (reader.waitKeyframe[track] && codec) {
        if (isRtcp) continue;
        keyframe ??= startsKeyframe(codec, payload);
        if (!keyframe) continue;
        reader.waitKeyframe[track] = false;
      }
      const socket = reader.conn.socket;
      if (socket.destroyed) continue;
      if (socket.writableLength > highWater) {
        if (reader.dropped++ % 500 === 0) log.warn({ path: stream.path, remote: socket.remoteAddress, dropped: reader.dropped }, 'slow reader: dropping packets');
        continue;
      }
      const frame = Buffer.allocUnsafe(4 + payload.length);
      frame[0] = 0x24;
      frame[1] = base + (isRtcp ? 1 : 0);
      frame.writeUInt16BE(payload.length, 2);
      payload.copy(frame, 4);
      socket.write(frame);
    }
  }

  function onConnection(socket: net.Socket): void {
    const conn: Conn = { id: nextConnId++, socket, session: null, role: 'unknown', stream: null, reader: null, readerPath: null };
    conns.add(conn);
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);

    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length > 0) {
        if (buf[0] === 0x24) {
          if (buf.length < 4) return;
          const len = buf.readUInt16BE(2);
          if (buf.length < 4 + len) return;
          const channel = buf[1]!;
          const payload = buf.subarray(4, 4 + len);
          if (conn.role === 'publisher' && conn.stream && streams.get(conn.stream.path) === conn.stream) relay(conn.stream, channel, payload);
          // Reader RTCP (receiver reports) needs no answer.
          buf = buf.subarray(4 + len);
          continue;
        }
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > MAX_HEADER_BYTES) {
            log.warn({ remote: socket.remoteAddress }, 'RTSP header too large: closing');
            socket.destroy();
          }
          return;
        }
        const head = buf.subarray(0, end).toString('utf8').split('\r\n');
        const [method, url] = (head[0] ?? '').split(' ');
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (!Number.isInteger(length) || length < 0 || length > MAX_BODY_BYTES) {
          send(conn, 413, headers['cseq']);
          socket.destroy();
          return;
        }
        if (buf.length < end + 4 + length) return;
        const body = buf.subarray(end + 4, end + 4 + length);
        buf = buf.subarray(end + 4 + length);
        if (!method || !url) {
          send(conn, 400, headers['cseq']);
          continue;
        }
        try {
          handleRequest(conn, { method: method.toUpperCase(), url, headers, body });
        } catch (err) {
          log.error({ err, method, url }, 'RTSP request failed');
          send(conn, 500, headers['cseq']);
        }
      }
    });
    socket.on('error', (err) => log.debug({ err: err.message, conn: conn.id }, 'RTSP socket error'));
    socket.on('close', () => {
      conns.delete(conn);
      if (conn.role === 'publisher' && conn.stream) endStream(conn.stream, 'publisher disconnected');
      else if (conn.reader && conn.stream) {
        conn.stream.readers.delete(conn.reader);
        log.info({ path: conn.stream.path, readers: conn.stream.readers.size }, 'reader disconnected');
      }
    });
  }

  const srv = net.createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(options.port ?? 0, host, () => {
      srv.off('error', reject);
      resolve();
    });
  });
  const port = (srv.address() as net.AddressInfo).port;
  log.info({ host, port }, 'RTSP server listening');

  const server: RtspServer = {
    port,
    host,
    setCredentials(path, creds) {
      const p = pathOf(path);
      if (creds) credentials.set(p, creds);
      else credentials.delete(p);
    },
    isPublishing: (path) => streams.get(pathOf(path))?.recording ?? false,
    readerCount: (path) => streams.get(pathOf(path))?.readers.size ?? 0,
    muteAudio(path, muted) {
      if (muted) mutedAudio.add(pathOf(path));
      else mutedAudio.delete(pathOf(path));
    },
    kickReaders(path) {
      const stream = streams.get(pathOf(path));
      if (!stream) return;
      for (const r of stream.readers) r.conn.socket.destroy();
      stream.readers.clear();
    },
    close() {
      return new Promise<void>((resolve) => {
        srv.close(() => resolve());
        for (const c of conns) c.socket.destroy();
      });
    },
  };
  return server;
}

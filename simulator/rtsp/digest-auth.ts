import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HTTP/RTSP Basic and Digest (RFC 2617, MD5, qop=auth or none) as IP cameras do it. Shared by the
 * RTSP server and the ONVIF device's snapshot endpoint so both refuse wrong credentials alike.
 */
export interface Credentials {
  username: string;
  password: string;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Parses `key=value, key="quoted, value"` lists of an Authorization header. */
export function parseAuthParams(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  return out;
}

export class DigestAuthenticator {
  readonly realm: string;
  /** Nonces we issued; a response to a nonce we never gave out is refused. */
  private readonly nonces = new Map<string, number>();

  constructor(realm: string) {
    this.realm = realm;
  }

  /** The value of the WWW-Authenticate header for a 401 (Digest; Basic is accepted too). */
  challenge(): string {
    const nonce = randomBytes(16).toString('hex');
    this.nonces.set(nonce, Date.now());
    if (this.nonces.size > 1000) {
      const cutoff = Date.now() - 10 * 60_000;
      for (const [n, t] of this.nonces) if (t < cutoff) this.nonces.delete(n);
    }
    return `Digest realm="${this.realm}", nonce="${nonce}", algorithm="MD5"`;
  }

  /** True when the Authorization header carries the right credentials for `method`. */
  verify(header: string | undefined, method: string, creds: Credentials): boolean {
    if (!header) return false;
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space).toLowerCase();
    const rest = header.slice(space + 1);
    if (scheme === 'basic') {
      const decoded = Buffer.from(rest.trim(), 'base64').toString('utf8');
      return safeEqual(decoded, `${creds.username}:${creds.password}`);
    }
    if (scheme !== 'digest') return false;
    const p = parseAuthParams(rest);
    if (!p.nonce || !this.nonces.has(p.nonce) || !p.uri || !p.response || p.username !== creds.username) return false;
    if (p.algorithm && p.algorithm.toUpperCase() !== 'MD5') return false;
    const ha1 = md5(`${creds.username}:${p.realm ?? this.realm}:${creds.password}`);
    const ha2 = md5(`${method}:${p.uri}`);
    const expected = p.qop ? md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
    return (p.realm ?? this.realm) === this.realm && safeEqual(expected, p.response.toLowerCase());
  }
}

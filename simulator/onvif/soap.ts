import { createHash, timingSafeEqual } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';

/**
 * SOAP 1.2 plumbing of the virtual ONVIF device: parsing requests safely (no entities, no DTDs,
 * size capped by the caller), WS-UsernameToken checking, and envelopes/faults in the shape
 * ONVIF clients expect.
 */

export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  tds: 'http://www.onvif.org/ver10/device/wsdl',
  trt: 'http://www.onvif.org/ver10/media/wsdl',
  tt: 'http://www.onvif.org/ver10/schema',
  ter: 'http://www.onvif.org/ver10/error',
  tev: 'http://www.onvif.org/ver10/events/wsdl',
  wsnt: 'http://docs.oasis-open.org/wsn/b-2',
  wsa: 'http://www.w3.org/2005/08/addressing',
  tns1: 'http://www.onvif.org/ver10/topics',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
} as const;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

type Node = Record<string, unknown>;

export interface UsernameToken {
  username: string;
  password: string;
  passwordType: 'digest' | 'text';
  nonce: string | null;
  created: string | null;
}

export interface SoapRequest {
  /** Local name of the first element in the Body, e.g. "GetProfiles". */
  action: string;
  /** The parsed operation element (namespace prefixes removed). */
  body: Node;
  token: UsernameToken | null;
}

const asNode = (v: unknown): Node | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : null);
const text = (v: unknown): string | null => {
  if (typeof v === 'string') return v;
  const n = asNode(v);
  if (n && typeof n['#text'] === 'string') return n['#text'];
  return null;
};

export class SoapParseError extends Error {
  override name = 'SoapParseError';
}

export function parseSoapRequest(xml: string): SoapRequest {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SoapParseError('DTDs and entities are not accepted');
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch (err) {
    throw new SoapParseError(`malformed XML: ${(err as Error).message}`);
  }
  const envelope = asNode(doc['Envelope']);
  const body = envelope && asNode(envelope['Body']);
  if (!envelope || !body) throw new SoapParseError('not a SOAP envelope');
  const action = Object.keys(body).find((k) => !k.startsWith('@') && k !== '#text');
  if (!action) throw new SoapParseError('empty SOAP body');
  const header = asNode(envelope['Header']);
  const ut = asNode(asNode(header?.['Security'])?.['UsernameToken']);
  let token: UsernameToken | null = null;
  if (ut) {
    const pw = ut['Password'];
    const type = asNode(pw)?.['@Type'];
    token = {
      username: text(ut['Username']) ?? '',
      password: text(pw) ?? '',
      passwordType: typeof type === 'string' && type.endsWith('#PasswordText') ? 'text' : typeof type === 'string' ? 'digest' : 'text',
      nonce: text(ut['Nonce']),
      created: text(ut['Created']),
    };
  }
  return { action, body: asNode(body[action]) ?? {}, token };
}

/** Text of a child element of the operation (namespace prefix removed), if any. */
export function field(body: Node, ...path: string[]): string | null {
  let node: unknown = body;
  for (const p of path) node = asNode(node)?.[p];
  return text(node);
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** WS-UsernameToken: PasswordDigest = base64(sha1(nonce + created + password)) or PasswordText. */
export function checkUsernameToken(token: UsernameToken | null, username: string, password: string): boolean {
  if (!token || !safeEqual(token.username, username)) return false;
  if (token.passwordType === 'text') return safeEqual(token.password, password);
  if (token.nonce === null || token.created === null) return false;
  const digest = createHash('sha1')
    .update(Buffer.concat([Buffer.from(token.nonce, 'base64'), Buffer.from(token.created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
  return safeEqual(digest, token.password);
}

export function xmlEscape(s: string | number | boolean): string {
  return String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export function envelope(body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<s:Envelope xmlns:s="${NS.s}" xmlns:tds="${NS.tds}" xmlns:trt="${NS.trt}" xmlns:tt="${NS.tt}" xmlns:ter="${NS.ter}" xmlns:tev="${NS.tev}" xmlns:wsnt="${NS.wsnt}" xmlns:wsa="${NS.wsa}" xmlns:tns1="${NS.tns1}">` +
    `<s:Body>${body}</s:Body></s:Envelope>`
  );
}

/** A SOAP 1.2 fault with an ONVIF subcode, e.g. fault('s:Sender', 'ter:NotAuthorized', 'Sender not authorized'). */
export function fault(code: 's:Sender' | 's:Receiver', subcode: string, reason: string, subsubcode?: string): string {
  const inner = subsubcode ? `<s:Subcode><s:Value>${subsubcode}</s:Value></s:Subcode>` : '';
  return envelope(
    `<s:Fault><s:Code><s:Value>${code}</s:Value><s:Subcode><s:Value>${subcode}</s:Value>${inner}</s:Subcode></s:Code>` +
      `<s:Reason><s:Text xml:lang="en">${xmlEscape(reason)}</s:Text></s:Reason></s:Fault>`,
  );
}

import { XMLParser } from 'fast-xml-parser';
import { httpRequest, type HttpAnswer } from '../http/http-request.ts';

/**
 * A camera's clock against the box's: GetSystemDateAndTime (no credentials needed, ONVIF core),
 * offset = camera UTC − midpoint of the request. Evidence time depends on it. The answer is read
 * with a size cap and parsed with entity expansion off, like every SOAP answer the box reads itself.
 */

const MAX_ANSWER_BYTES = 64 * 1024;
const parser = new XMLParser({ removeNSPrefix: true, processEntities: false, htmlEntities: false, ignoreAttributes: true, parseTagValue: true });

const BODY =
  '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>' +
  '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>';

/**
 * GetSystemDateAndTime at `xaddr`: the one ONVIF call a device answers without credentials, so also
 * how unicast probing tells a camera (unicast-probe.ts). An answer is a few hundred bytes; the cap
 * refuses anything else.
 */
export function getSystemDateAndTime(xaddr: string, timeoutMs: number): Promise<HttpAnswer> {
  return httpRequest(xaddr, {
    method: 'POST',
    headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
    body: BODY,
    timeoutMs,
    maxAnswerBytes: MAX_ANSWER_BYTES,
  });
}

export async function measureClockOffset(xaddr: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const res = await getSystemDateAndTime(xaddr, timeoutMs);
  const t1 = Date.now();
  const xml = res.text();
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new Error(`GetSystemDateAndTime answer from ${xaddr} carries a DTD: refused`);
  if (!res.ok) throw new Error(`GetSystemDateAndTime at ${xaddr} answered HTTP ${res.status}`);
  const doc = parser.parse(xml) as Record<string, any>;
  const utc = doc?.Envelope?.Body?.GetSystemDateAndTimeResponse?.SystemDateAndTime?.UTCDateTime;
  const d = utc?.Date;
  const t = utc?.Time;
  const parts = [d?.Year, d?.Month, d?.Day, t?.Hour, t?.Minute, t?.Second].map(Number);
  if (parts.some((n) => !Number.isFinite(n))) throw new Error(`GetSystemDateAndTime answer from ${xaddr} has no UTCDateTime`);
  const [y, mo, da, h, mi, s] = parts as [number, number, number, number, number, number];
  const camera = Date.UTC(y, mo - 1, da, h, mi, s);
  // The camera reports whole seconds: compare against the midpoint, floored to the second it was read in.
  return camera - Math.floor((t0 + t1) / 2 / 1000) * 1000;
}

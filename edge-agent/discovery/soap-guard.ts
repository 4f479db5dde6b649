import http from 'node:http';
import type { Duplex } from 'node:stream';
import type * as OnvifTypes from 'onvif';

/**
 * A hostile "camera" must not hurt the box. The `onvif` client buffers whole answers and hands them
 * to xml2js; this guard sits under it, on the sockets its requests use: it counts the bytes of each
 * answer and cuts the connection past `maxBytes`, and refuses any answer carrying a DTD
 * (`<!DOCTYPE`/`<!ENTITY`: the XML-bomb vector) before the client could parse it. A tripped guard
 * rejects `tripped` at once, so the caller fails fast with the reason instead of waiting for a
 * timeout.
 */

export class SoapGuardError extends Error {
  override name = 'SoapGuardError';
}

/** ONVIF answers are a few KB; GetProfiles of a big NVR some hundred KB. */
export const DEFAULT_MAX_SOAP_BYTES = 1024 * 1024;

const DTD = /<!\s*(DOCTYPE|ENTITY)/i;

export interface SoapGuard {
  /** Rejects with a SoapGuardError when an answer broke a rule; never resolves. */
  readonly tripped: Promise<never>;
  readonly agent: http.Agent;
  /** Races a call against the guard. */
  race<T>(p: Promise<T>): Promise<T>;
  dispose(): void;
}

export function createSoapGuard(who: string, maxBytes = DEFAULT_MAX_SOAP_BYTES): SoapGuard {
  let trip!: (err: SoapGuardError) => void;
  const tripped = new Promise<never>((_, reject) => (trip = reject));
  tripped.catch(() => {}); // observed through race(); never an unhandled rejection
  let done = false;
  const fail = (socket: Duplex, why: string): void => {
    socket.destroy();
    if (done) return;
    done = true;
    trip(new SoapGuardError(`refused the answer of ${who}: ${why}`));
  };

  class GuardedAgent extends http.Agent {
    override createConnection(...args: Parameters<http.Agent['createConnection']>): Duplex {
      // http.Agent's createConnection is net.createConnection; typings omit it on the class.
      const socket = (http.Agent.prototype as unknown as { createConnection: (...a: unknown[]) => Duplex }).createConnection.apply(this, args);
      let size = 0;
      let tail = '';
      // Checked in emit itself, so an offending chunk never reaches the HTTP parser (nor xml2js).
      const emit = socket.emit.bind(socket);
      socket.emit = ((event: string | symbol, ...rest: unknown[]): boolean => {
        if (event === 'data' && !socket.destroyed) {
          const chunk = rest[0] as Buffer;
          size += chunk.length;
          if (size > maxBytes) {
            fail(socket, `answer larger than ${maxBytes} bytes`);
            return false;
          }
          // Look across chunk boundaries too.
          const text = tail + chunk.toString('latin1');
          if (DTD.test(text)) {
            fail(socket, 'answer carries a DTD/entity declarations (XML bomb?)');
            return false;
          }
          tail = text.slice(-16);
        }
        return emit(event, ...rest);
      }) as typeof socket.emit;
      return socket;
    }
  }
  const agent = new GuardedAgent({ keepAlive: false });

  return {
    tripped,
    agent,
    race: <T>(p: Promise<T>) => Promise.race([p, tripped]),
    dispose: () => agent.destroy(),
  };
}

/**
 * Puts a Cam's every request on the guard's agent: its service requests take `agent` from the
 * Cam, but requests to a full URL (PullPoint subscriptions) do not, so those get it here.
 */
export function guardCam(cam: OnvifTypes.Cam, guard: SoapGuard): void {
  const c = cam as unknown as {
    agent?: http.Agent;
    _requestPart2: (options: { url?: Record<string, unknown> }, cb: unknown) => unknown;
  };
  c.agent = guard.agent;
  const original = c._requestPart2;
  c._requestPart2 = function (this: unknown, options, cb) {
    if (options.url && typeof options.url === 'object') options.url.agent = guard.agent;
    return original.call(this, options, cb);
  };
}

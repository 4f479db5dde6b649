import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import pino, { type Logger } from 'pino';
import { ffmpegPath } from '../../config/binaries.ts';
import { DigestAuthenticator } from '../rtsp/digest-auth.ts';
import { checkUsernameToken, envelope, fault, field, parseSoapRequest, SoapParseError, xmlEscape } from './soap.ts';

/**
 * A virtual ONVIF device (Profile S, Media1): the SOAP endpoints that ONVIF clients — the `onvif`
 * npm package in particular — call to connect and find the RTSP stream, with WS-UsernameToken
 * authentication on everything except GetSystemDateAndTime, as the ONVIF core spec requires.
 * One HTTP port per device, like one camera per IP address.
 */

export interface OnvifStreamInfo {
  /** Host and port of the RTSP server the stream URI points to. */
  rtspHost: string;
  rtspPort: number;
  /** RTSP path of this camera (no leading slash). */
  path: string;
  codec: 'h264' | 'h265';
  width: number;
  height: number;
  fps: number;
  audio: boolean;
  bitrateKbps: number;
}

export interface OnvifDeviceOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0 = any free port). */
  port?: number;
  /** Host name put into XAddrs and URIs (default: `host`). */
  advertiseHost?: string;
  username: string;
  password: string;
  /** Endpoint reference, "urn:uuid:…": the device's identity across IP changes. */
  endpoint: string;
  name: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
  firmware?: string;
  hardwareId?: string;
  location?: string;
  stream: OnvifStreamInfo;
  /** Added to the clock GetSystemDateAndTime reports (for clock-drift tests). */
  clockOffsetMs?: number;
  /** Largest SOAP request accepted (default 64 KiB). */
  maxBodyBytes?: number;
  /**
   * How long an empty PullMessages is held before answering (default 2 s, quick for tests). Real
   * cameras hold it for the client's timeout (up to a minute); benchmarks set that, or the agent
   * would be measured polling a camera far more often than it ever does in a venue.
   */
  pullWaitMs?: number;
  logger?: Logger;
}

export interface OnvifDevice {
  readonly port: number;
  /** http://<advertiseHost>:<port>/onvif/device_service */
  readonly xaddr: string;
  readonly endpoint: string;
  readonly scopes: string[];
  /** rtsp://<rtspHost>:<rtspPort>/<path>, without credentials. */
  readonly streamUri: string;
  readonly snapshotUri: string;
  setClockOffset(ms: number): void;
  /** Changes the advertised host (an IP change); XAddrs and URIs follow. */
  setAdvertiseHost(host: string): void;
  /**
   * Queues an ONVIF event for every PullPoint subscriber: motion (tns1:VideoSource/MotionAlarm),
   * tamper (tns1:VideoSource/GlobalSceneChange/ImagingService) or video loss (tns1:VideoSource/SignalLoss).
   */
  emitEvent(kind: SimulatedEventKind, state: boolean): void;
  /** Live PullPoint subscriptions (tests wait for the agent to subscribe). */
  subscriptions(): number;
  close(): Promise<void>;
}

export type SimulatedEventKind = 'motion' | 'tamper' | 'video_loss';

const EVENT_TOPICS: Record<SimulatedEventKind, string> = {
  motion: 'tns1:VideoSource/MotionAlarm',
  tamper: 'tns1:VideoSource/GlobalSceneChange/ImagingService',
  video_loss: 'tns1:VideoSource/SignalLoss',
};

const DEVICE_PATH = '/onvif/device_service';
const EVENTS_PATH = '/onvif/event_service';
const PULLPOINT_PREFIX = '/onvif/pullpoint/';
/** How long PullMessages waits for an event before answering empty (the client asks for up to 1 min). */
const PULL_WAIT_MS = 2000;
const MEDIA_PATH = '/onvif/media_service';
const SNAPSHOT_PATH = '/onvif/snapshot.jpg';

function dateTimeXml(tag: string, d: Date, utc: boolean): string {
  const get = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]
    : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getFullYear(), d.getMonth() + 1, d.getDate()];
  const [h, mi, s, y, mo, da] = get;
  return `<tt:${tag}><tt:Time><tt:Hour>${h}</tt:Hour><tt:Minute>${mi}</tt:Minute><tt:Second>${s}</tt:Second></tt:Time><tt:Date><tt:Year>${y}</tt:Year><tt:Month>${mo}</tt:Month><tt:Day>${da}</tt:Day></tt:Date></tt:${tag}>`;
}

/** POSIX TZ string of this machine's zone at `d`, e.g. "CST-8" (sign inverted, as POSIX has it). */
function posixTz(d: Date): string {
  const offsetMin = -d.getTimezoneOffset();
  const sign = offsetMin >= 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `UTC${sign}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`;
}

export async function startOnvifDevice(options: OnvifDeviceOptions): Promise<OnvifDevice> {
  const listenHost = options.host ?? '127.0.0.1';
  let advertiseHost = options.advertiseHost ?? listenHost;
  let clockOffsetMs = options.clockOffsetMs ?? 0;
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const s = options.stream;
  const log = (options.logger ?? pino({ name: 'onvif-device' })).child({ component: 'onvif-device', camera: options.name, endpoint: options.endpoint });
  const info = {
    manufacturer: options.manufacturer ?? 'VenueWatch Simulator',
    model: options.model ?? (s.codec === 'h265' ? 'VW-SIM-265' : 'VW-SIM-264'),
    serial: options.serial ?? options.endpoint.replace(/^urn:uuid:/, '').slice(0, 13).toUpperCase(),
    firmware: options.firmware ?? '1.0.0',
    hardwareId: options.hardwareId ?? 'VW-SIM',
  };
  const snapshotAuth = new DigestAuthenticator(`${info.manufacturer} snapshot`);
  let port = 0;
  const hostForUrl = (): string => (net.isIPv6(advertiseHost) ? `[${advertiseHost}]` : advertiseHost);
  const base = (): string => `http://${hostForUrl()}:${port}`;
  const rtspHost = (): string => (net.isIPv6(s.rtspHost) ? `[${s.rtspHost}]` : s.rtspHost);
  const streamUri = (): string => `rtsp://${rtspHost()}:${s.rtspPort}/${s.path}`;
  const scopes = (): string[] => [
    'onvif://www.onvif.org/type/video_encoder',
    'onvif://www.onvif.org/type/audio_encoder',
    'onvif://www.onvif.org/Profile/Streaming',
    `onvif://www.onvif.org/name/${encodeURIComponent(options.name)}`,
    `onvif://www.onvif.org/hardware/${encodeURIComponent(info.model)}`,
    `onvif://www.onvif.org/location/${encodeURIComponent(options.location ?? 'venue')}`,
  ];

  const profileToken = 'Profile_1';
  const encoding = s.codec === 'h265' ? 'H265' : 'H264';
  const gov = Math.max(1, Math.round(s.fps));
  const multicast = '<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout>';
  const videoSourceConfig = `<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig_1</tt:Name><tt:UseCount>1</tt:UseCount><tt:SourceToken>VideoSource_1</tt:SourceToken><tt:Bounds x="0" y="0" width="${s.width}" height="${s.height}"/></tt:VideoSourceConfiguration>`;
  const videoEncoderConfig =
    `<tt:VideoEncoderConfiguration token="VideoEncoder_1"><tt:Name>VideoEncoder_1</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>${encoding}</tt:Encoding>` +
    `<tt:Resolution><tt:Width>${s.width}</tt:Width><tt:Height>${s.height}</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality>` +
    `<tt:RateControl><tt:FrameRateLimit>${s.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>${s.bitrateKbps}</tt:BitrateLimit></tt:RateControl>` +
    (s.codec === 'h264' ? `<tt:H264><tt:GovLength>${gov}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264>` : '') +
    `${multicast}</tt:VideoEncoderConfiguration>`;
  const audio = s.audio
    ? '<tt:AudioSourceConfiguration token="AudioSourceConfig_1"><tt:Name>AudioSourceConfig_1</tt:Name><tt:UseCount>1</tt:UseCount><tt:SourceToken>AudioSource_1</tt:SourceToken></tt:AudioSourceConfiguration>' +
      `<tt:AudioEncoderConfiguration token="AudioEncoder_1"><tt:Name>AudioEncoder_1</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>G711</tt:Encoding><tt:Bitrate>64</tt:Bitrate><tt:SampleRate>8</tt:SampleRate>${multicast}</tt:AudioEncoderConfiguration>`
    : '';
  const profile = (tag: string): string => `<${tag} token="${profileToken}" fixed="true"><tt:Name>mainStream</tt:Name>${videoSourceConfig}${audio}${videoEncoderConfig}</${tag}>`;
  const mediaUri = (uri: string): string => `<trt:MediaUri><tt:Uri>${xmlEscape(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>`;

  /** The answer to one authenticated or public operation; null = not supported. */
  function answer(action: string, body: Record<string, unknown>): string | { fault: string; status: number } | null {
    switch (action) {
      case 'GetSystemDateAndTime': {
        const now = new Date(Date.now() + clockOffsetMs);
        return `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>${posixTz(now)}</tt:TZ></tt:TimeZone>${dateTimeXml('UTCDateTime', now, true)}${dateTimeXml('LocalDateTime', now, false)}</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`;
      }
      case 'GetDeviceInformation':
        return `<tds:GetDeviceInformationResponse><tds:Manufacturer>${xmlEscape(info.manufacturer)}</tds:Manufacturer><tds:Model>${xmlEscape(info.model)}</tds:Model><tds:FirmwareVersion>${xmlEscape(info.firmware)}</tds:FirmwareVersion><tds:SerialNumber>${xmlEscape(info.serial)}</tds:SerialNumber><tds:HardwareId>${xmlEscape(info.hardwareId)}</tds:HardwareId></tds:GetDeviceInformationResponse>`;
      case 'GetServices': {
        const withCaps = field(body, 'IncludeCapability') === 'true';
        const svc = (ns: string, path: string, caps: string): string =>
          `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${base()}${path}</tds:XAddr>${withCaps ? `<tds:Capabilities>${caps}</tds:Capabilities>` : ''}<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>`;
        return (
          '<tds:GetServicesResponse>' +
          svc('http://www.onvif.org/ver10/device/wsdl', DEVICE_PATH, '<tds:Capabilities><tds:Network ZeroConfiguration="false" IPVersion6="false"/><tds:Security UsernameToken="true" HttpDigest="false"/><tds:System DiscoveryResolve="false" DiscoveryBye="true"/></tds:Capabilities>') +
          svc('http://www.onvif.org/ver10/events/wsdl', EVENTS_PATH, '<tev:Capabilities WSSubscriptionPolicySupport="false" WSPullPointSupport="true" WSPausableSubscriptionManagerInterfaceSupport="false"/>') +
          svc('http://www.onvif.org/ver10/media/wsdl', MEDIA_PATH, '<trt:Capabilities SnapshotUri="true"><trt:ProfileCapabilities MaximumNumberOfProfiles="1"/><trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true"/></trt:Capabilities>') +
          '</tds:GetServicesResponse>'
        );
      }
      case 'GetCapabilities':
        return (
          '<tds:GetCapabilitiesResponse><tds:Capabilities>' +
          `<tt:Device><tt:XAddr>${base()}${DEVICE_PATH}</tt:XAddr><tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade><tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System></tt:Device>` +
          `<tt:Events><tt:XAddr>${base()}${EVENTS_PATH}</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>` +
          `<tt:Media><tt:XAddr>${base()}${MEDIA_PATH}</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
          '</tds:Capabilities></tds:GetCapabilitiesResponse>'
        );
      case 'GetServiceCapabilities':
        return '<tds:GetServiceCapabilitiesResponse><tds:Capabilities><tds:Network ZeroConfiguration="false" IPVersion6="false"/><tds:Security UsernameToken="true" HttpDigest="false"/><tds:System DiscoveryResolve="false" DiscoveryBye="true"/></tds:Capabilities></tds:GetServiceCapabilitiesResponse>';
      case 'GetScopes':
        return `<tds:GetScopesResponse>${scopes().map((sc) => `<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>${xmlEscape(sc)}</tt:ScopeItem></tds:Scopes>`).join('')}</tds:GetScopesResponse>`;
      case 'GetEndpointReference':
        // The device's identity across IP changes (ONVIF core 8.3.x); the same urn as in WS-Discovery.
        return `<tds:GetEndpointReferenceResponse><tds:GUID>${xmlEscape(options.endpoint)}</tds:GUID></tds:GetEndpointReferenceResponse>`;
      case 'GetHostname':
        return `<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP><tt:Name>${xmlEscape(info.serial.toLowerCase())}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>`;
      case 'GetNetworkInterfaces':
        return `<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled><tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual><tt:Address>${xmlEscape(advertiseHost)}</tt:Address><tt:PrefixLength>24</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>`;
      case 'GetProfiles':
        return `<trt:GetProfilesResponse>${profile('trt:Profiles')}</trt:GetProfilesResponse>`;
      case 'GetProfile': {
        const token = field(body, 'ProfileToken');
        if (token !== profileToken) return { fault: fault('s:Sender', 'ter:InvalidArgVal', 'No such profile', 'ter:NoProfile'), status: 400 };
        return `<trt:GetProfileResponse>${profile('trt:Profile')}</trt:GetProfileResponse>`;
      }
      case 'GetVideoSources':
        return `<trt:GetVideoSourcesResponse><trt:VideoSources token="VideoSource_1"><tt:Framerate>${s.fps}</tt:Framerate><tt:Resolution><tt:Width>${s.width}</tt:Width><tt:Height>${s.height}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`;
      case 'GetStreamUri':
      case 'GetSnapshotUri': {
        const token = field(body, 'ProfileToken');
        if (token !== null && token !== profileToken) return { fault: fault('s:Sender', 'ter:InvalidArgVal', 'No such profile', 'ter:NoProfile'), status: 400 };
        if (action === 'GetStreamUri') {
          // Real cameras hand out the same URI whatever transport is asked for; RTP runs over RTSP/TCP.
          return `<trt:GetStreamUriResponse>${mediaUri(streamUri())}</trt:GetStreamUriResponse>`;
        }
        return `<trt:GetSnapshotUriResponse>${mediaUri(`${base()}${SNAPSHOT_PATH}`)}</trt:GetSnapshotUriResponse>`;
      }
      default:
        return null;
    }
  }

  // ---- events: PullPoint subscriptions (ONVIF Event service, WS-BaseNotification) ----
  interface Subscription {
    id: string;
    expires: number;
    queue: string[];
    waiter: (() => void) | null;
  }
  const subs = new Map<string, Subscription>();
  let subSeq = 0;
  const SUB_TTL_MS = 120_000;
  const isoNow = (): string => new Date(Date.now() + clockOffsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const iso = (ms: number): string => new Date(ms + clockOffsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sweep = (): void => {
    for (const [id, sub] of subs) if (sub.expires < Date.now()) subs.delete(id);
  };
  const notification = (kind: SimulatedEventKind, state: boolean): string =>
    `<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${EVENT_TOPICS[kind]}</wsnt:Topic>` +
    `<wsnt:Message><tt:Message UtcTime="${isoNow()}" PropertyOperation="Changed"><tt:Source><tt:SimpleItem Name="VideoSourceConfigurationToken" Value="VideoSourceConfig_1"/></tt:Source>` +
    `<tt:Data><tt:SimpleItem Name="State" Value="${state}"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`;

  /** Event-service operations; null = not an event operation. */
  function answerEvents(action: string, path: string, body: Record<string, unknown>): Promise<string | { fault: string; status: number }> | null {
    sweep();
    switch (action) {
      case 'GetEventProperties':
        return Promise.resolve(
          '<tev:GetEventPropertiesResponse><tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation><wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>' +
            '<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect></tev:GetEventPropertiesResponse>',
        );
      case 'CreatePullPointSubscription': {
        const id = String(++subSeq);
        const sub: Subscription = { id, expires: Date.now() + SUB_TTL_MS, queue: [], waiter: null };
        subs.set(id, sub);
        log.debug({ subscription: id }, 'PullPoint subscription created');
        return Promise.resolve(
          `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>${base()}${PULLPOINT_PREFIX}${id}</wsa:Address></tev:SubscriptionReference>` +
            `<wsnt:CurrentTime>${isoNow()}</wsnt:CurrentTime><wsnt:TerminationTime>${iso(sub.expires)}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>`,
        );
      }
      case 'PullMessages':
      case 'Renew':
      case 'Unsubscribe': {
        const sub = path.startsWith(PULLPOINT_PREFIX) ? subs.get(path.slice(PULLPOINT_PREFIX.length)) : undefined;
        if (!sub) return Promise.resolve({ fault: fault('s:Sender', 'ter:InvalidArgVal', 'No such subscription', 'ter:ResourceUnknown'), status: 400 });
        if (action === 'Unsubscribe') {
          subs.delete(sub.id);
          sub.waiter?.();
          return Promise.resolve('<wsnt:UnsubscribeResponse/>');
        }
        sub.expires = Date.now() + SUB_TTL_MS;
        if (action === 'Renew') {
          return Promise.resolve(`<wsnt:RenewResponse><wsnt:TerminationTime>${iso(sub.expires)}</wsnt:TerminationTime><wsnt:CurrentTime>${isoNow()}</wsnt:CurrentTime></wsnt:RenewResponse>`);
        }
        const limit = Math.max(1, Math.min(100, Number(field(body, 'MessageLimit') ?? 10) || 10));
        return new Promise((resolve) => {
          const answer = (): void => {
            clearTimeout(timer);
            sub.waiter = null;
            const msgs = sub.queue.splice(0, limit);
            resolve(`<tev:PullMessagesResponse><tev:CurrentTime>${isoNow()}</tev:CurrentTime><tev:TerminationTime>${iso(sub.expires)}</tev:TerminationTime>${msgs.join('')}</tev:PullMessagesResponse>`);
          };
          const timer = setTimeout(answer, sub.queue.length ? 0 : (options.pullWaitMs ?? PULL_WAIT_MS));
          if (!sub.queue.length) sub.waiter = answer;
        });
      }
      default:
        return null;
    }
  }

  function reply(res: http.ServerResponse, status: number, xml: string): void {
    res.writeHead(status, { 'Content-Type': 'application/soap+xml; charset=utf-8', 'Content-Length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  function handleSoap(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) {
        tooBig = true;
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('close', () => {
      if (tooBig && !res.headersSent) {
        res.writeHead(413).end();
      }
    });
    req.on('end', () => {
      if (tooBig) return;
      let parsed;
      try {
        parsed = parseSoapRequest(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        const why = err instanceof SoapParseError ? err.message : 'bad request';
        log.warn({ why }, 'malformed SOAP request');
        reply(res, 400, fault('s:Sender', 'ter:WellFormed', why));
        return;
      }
      const { action, body, token } = parsed;
      if (action !== 'GetSystemDateAndTime' && !checkUsernameToken(token, options.username, options.password)) {
        log.info({ action, remote: req.socket.remoteAddress, user: token?.username ?? null }, 'ONVIF request refused: not authorized');
        reply(res, 400, fault('s:Sender', 'ter:NotAuthorized', 'Sender not authorized', 'ter:NotAuthorized'));
        return;
      }
      const path = (req.url ?? '/').split('?')[0]!;
      const eventAnswer = path === EVENTS_PATH || path.startsWith(PULLPOINT_PREFIX) ? answerEvents(action, path, body) : null;
      if (eventAnswer) {
        void eventAnswer.then((out) => {
          if (res.destroyed) return;
          if (typeof out === 'object') reply(res, out.status, out.fault);
          else reply(res, 200, envelope(out));
        });
        return;
      }
      const out = answer(action, body);
      if (out === null) {
        log.debug({ action }, 'ONVIF action not supported');
        reply(res, 400, fault('s:Receiver', 'ter:ActionNotSupported', `${action} is not supported by this device`, 'ter:ActionNotSupported'));
        return;
      }
      if (typeof out === 'object') reply(res, out.status, out.fault);
      else reply(res, 200, envelope(out));
    });
  }

  // ---- snapshot: a JPEG grabbed from the camera's own stream, cached briefly ----
  let snapshot: { at: number; jpeg: Buffer } | null = null;
  let inflight: Promise<Buffer> | null = null;
  function grabSnapshot(): Promise<Buffer> {
    if (snapshot && Date.now() - snapshot.at < 2000) return Promise.resolve(snapshot.jpeg);
    inflight ??= new Promise<Buffer>((resolve, reject) => {
      const url = `rtsp://${encodeURIComponent(options.username)}:${encodeURIComponent(options.password)}@${rtspHost()}:${s.rtspPort}/${s.path}`;
      const proc = spawn(ffmpegPath(), ['-nostdin', '-hide_banner', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', url, '-frames:v', '1', '-an', '-f', 'image2', '-c:v', 'mjpeg', '-q:v', '5', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      proc.stdout!.on('data', (d: Buffer) => out.push(d));
      proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-1000)));
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        const jpeg = Buffer.concat(out);
        if (code === 0 && jpeg.length > 0) {
          snapshot = { at: Date.now(), jpeg };
          resolve(jpeg);
        } else reject(new Error(`snapshot failed: ${err.trim() || `ffmpeg exit ${code}`}`));
      });
    }).finally(() => {
      inflight = null;
    });
    return inflight;
  }

  function handleSnapshot(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!snapshotAuth.verify(req.headers.authorization, req.method ?? 'GET', options)) {
      res.writeHead(401, { 'WWW-Authenticate': snapshotAuth.challenge() }).end();
      return;
    }
    grabSnapshot().then(
      (jpeg) => {
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length, 'Cache-Control': 'no-store' });
        res.end(jpeg);
      },
      (err: Error) => {
        log.warn({ err: err.message }, 'snapshot unavailable');
        res.writeHead(503, { 'Content-Type': 'text/plain' }).end('Snapshot unavailable: the camera stream is not running.\n');
      },
    );
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && (path === DEVICE_PATH || path === MEDIA_PATH || path === EVENTS_PATH || path?.startsWith(PULLPOINT_PREFIX))) return handleSoap(req, res);
    if (req.method === 'GET' && path === SNAPSHOT_PATH) return handleSnapshot(req, res);
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as net.AddressInfo).port;
  log.info({ xaddr: `${base()}${DEVICE_PATH}` }, 'ONVIF device listening');

  return {
    get port() {
      return port;
    },
    get xaddr() {
      return `${base()}${DEVICE_PATH}`;
    },
    endpoint: options.endpoint,
    get scopes() {
      return scopes();
    },
    get streamUri() {
      return streamUri();
    },
    get snapshotUri() {
      return `${base()}${SNAPSHOT_PATH}`;
    },
    setClockOffset(ms) {
      clockOffsetMs = ms;
    },
    setAdvertiseHost(h) {
      advertiseHost = h;
    },
    emitEvent(kind, state) {
      sweep();
      const xml = notification(kind, state);
      for (const sub of subs.values()) {
        sub.queue.push(xml);
        if (sub.queue.length > 1000) sub.queue.shift();
        sub.waiter?.();
      }
      log.info({ kind, state, subscribers: subs.size }, 'ONVIF event');
    },
    subscriptions() {
      sweep();
      return subs.size;
    },
    close() {
      for (const sub of subs.values()) sub.waiter?.();
      subs.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

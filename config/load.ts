import { readFileSync } from 'node:fs';
import { z } from 'zod';
import defaults from './defaults.json' with { type: 'json' };
import { EdgeAgentConfig, ServerConfig } from './schema.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Program = 'server' | 'edgeAgent';
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(base[k]) ? merge(base[k] as Json, v) : v;
  return out;
}

function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(node[k])) node[k] = {};
    node = node[k] as Json;
  }
  node[keys.at(-1)!] = value;
}

/** Environment variables that override a setting: the production way to configure a container. */
const envOverrides: Record<Program, Record<string, { path: string; parse?: (v: string) => unknown }>> = {
  server: {
    PORT: { path: 'port', parse: Number },
    HOST: { path: 'host' },
    DATABASE_URL: { path: 'databaseUrl' },
    MQTT_URL: { path: 'mqtt.url' },
    MQTT_EMBEDDED_PORT: { path: 'mqtt.embeddedPort', parse: Number },
    FOOTAGE_DIR: { path: 'footageDir' },
    DATA_DIR: { path: 'dataDir' },
    LOG_LEVEL: { path: 'logLevel' },
    DEMO_PASSWORD: { path: 'demo.password' },
    VW_DEMO_ACCOUNTS: { path: 'demo.accounts', parse: (v) => v === '1' || v === 'true' },
    // "venue:token,venue:token" — how a deployment hands the centre its boxes' credentials.
    VW_AGENTS: {
      path: 'agents',
      parse: (v) =>
        v
          .split(',')
          .filter(Boolean)
          .map((pair) => {
            const i = pair.indexOf(':');
            return { venueId: pair.slice(0, i), token: pair.slice(i + 1) };
          }),
    },
  },
  edgeAgent: {
    MQTT_URL: { path: 'mqtt.url' },
    CENTRE_URL: { path: 'centre.url' },
    VW_AGENT_TOKEN: { path: 'centre.token' },
    EDGE_DATA_DIR: { path: 'dataDir' },
    LOG_LEVEL: { path: 'logLevel' },
  },
};

const schemas = { server: ServerConfig, edgeAgent: EdgeAgentConfig } as const;

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON file whose keys override the defaults (or VW_CONFIG). */
  file?: string | null;
  /** Settings given in code (tests, the demo launcher); applied last. */
  overrides?: Json;
}

function describeIssue(program: Program, issue: z.core.$ZodIssue, sources: Map<string, string>): string {
  const path = issue.path.join('.');
  const where = sources.get(path) ?? (path ? `setting ${program}.${path}` : `settings of ${program}`);
  const keys = 'keys' in issue && Array.isArray(issue.keys) ? ` (${issue.keys.join(', ')})` : '';
  return `Invalid ${where}: ${issue.message}${keys}`;
}

function load<P extends Program>(program: P, opts: LoadOptions): z.infer<(typeof schemas)[P]> {
  const env = opts.env ?? process.env;
  let merged = structuredClone((defaults as Json)[program] as Json);
  const sources = new Map<string, string>();

  const file = opts.file ?? env.VW_CONFIG ?? null;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`Cannot read config file ${file}: ${(err as Error).message}. Fix the file or unset VW_CONFIG.`);
    }
    if (!isObject(parsed)) throw new ConfigError(`Config file ${file} must hold a JSON object`);
    // A file may hold both programs' settings (keys "server", "edgeAgent") or just this program's.
    const section = isObject(parsed[program]) ? (parsed[program] as Json) : 'server' in parsed || 'edgeAgent' in parsed ? {} : parsed;
    merged = merge(merged, section);
  }

  for (const [name, { path, parse }] of Object.entries(envOverrides[program])) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(merged, path, parse ? parse(raw) : raw);
    sources.set(path, `environment variable ${name}=${JSON.stringify(raw)} (setting ${program}.${path})`);
  }
  if (opts.overrides) merged = merge(merged, opts.overrides);

  const result = schemas[program].safeParse(merged);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => describeIssue(program, i, sources)).join('\n'));
  }
  return result.data as z.infer<(typeof schemas)[P]>;
}

export const loadServerConfig = (opts: LoadOptions = {}): ServerConfig => load('server', opts);
export const loadEdgeAgentConfig = (opts: LoadOptions = {}): EdgeAgentConfig => load('edgeAgent', opts);

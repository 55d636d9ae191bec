/**
 * Where the API server is and how to authenticate to it. The common cases are read
 * here: in a cluster (the service account token, re-read as the kubelet rotates it, and
 * its CA), or a kubeconfig file with a client certificate, a bearer token or token file,
 * basic auth, and impersonation (`as`, `as-groups`, `as-uid`). Everything else a
 * kubeconfig may hold (exec plugins, auth providers, proxy URLs, several files in
 * KUBECONFIG) goes to @kubernetes/client-node, imported only then: loading it costs
 * some 60-80 MiB of memory, a third of the operator's budget.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

/** The API server's address, TLS material and request headers. */
export interface ClusterAccess {
  /** Base URL, e.g. https://10.0.0.1:443. */
  server: string;
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  servername?: string | undefined;
  /** False only for insecure-skip-tls-verify. */
  rejectUnauthorized?: boolean | undefined;
  /** Authorization and impersonation headers; call per request (tokens rotate). */
  headers(): Promise<Record<string, string | string[]>>;
  /** What was loaded, for logs: a file path or "in-cluster". */
  source: string;
}

/** The in-cluster service account files. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Token files are re-read at most this often. */
const TOKEN_TTL_MS = 60_000;

/** A token read from a file, cached for a minute. */
function tokenFileReader(path: string): () => string {
  let token = '';
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > TOKEN_TTL_MS) {
      token = readFileSync(path, 'utf8').trim();
      readAt = Date.now();
    }
    return token;
  };
}

/** The in-cluster configuration, or undefined outside a cluster. */
export function inClusterAccess(
  env: NodeJS.ProcessEnv = process.env,
  dir = SERVICE_ACCOUNT_DIR,
): ClusterAccess | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  const tokenPath = join(dir, 'token');
  if (!host || !existsSync(tokenPath)) return undefined;
  const token = tokenFileReader(tokenPath);
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(dir, 'ca.crt')),
    headers: async () => ({ Authorization: `Bearer ${token()}` }),
    source: 'in-cluster',
  };
}

interface NamedEntry<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

interface KubeconfigFile {
  'current-context'?: string;
  clusters?: NamedEntry<Record<string, unknown>>[];
  users?: NamedEntry<Record<string, unknown>>[];
  contexts?: NamedEntry<Record<string, unknown>>[];
}

/** Thrown when a kubeconfig needs @kubernetes/client-node (exec, auth-provider, proxy). */
class NeedsClientNode extends Error {}

function material(
  base: string,
  entry: Record<string, unknown>,
  file: string,
  data: string,
): Buffer | undefined {
  const inline = entry[data];
  if (typeof inline === 'string' && inline) return Buffer.from(inline, 'base64');
  const path = entry[file];
  if (typeof path === 'string' && path)
    return readFileSync(isAbsolute(path) ? path : join(base, path));
  return undefined;
}

/** Reads a single kubeconfig file; throws NeedsClientNode for what it does not cover. */
function fromKubeconfigFile(path: string, contextName?: string): ClusterAccess {
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as KubeconfigFile;
  const base = dirname(path);
  const name = contextName ?? doc['current-context'];
  const context = doc.contexts?.find((c) => c.name === name)?.context;
  if (!context) throw new TypeError(`${path}: no context "${name ?? ''}"`);
  const cluster = doc.clusters?.find((c) => c.name === context['cluster'])?.cluster;
  if (!cluster || typeof cluster['server'] !== 'string') {
    throw new TypeError(`${path}: no server for cluster "${String(context['cluster'])}"`);
  }
  const user = doc.users?.find((u) => u.name === context['user'])?.user ?? {};
  if (user['exec'] || user['auth-provider'] || cluster['proxy-url']) throw new NeedsClientNode();
  const headers: Record<string, string> = {};
  if (typeof user['as'] === 'string') headers['Impersonate-User'] = user['as'];
  if (typeof user['as-uid'] === 'string') headers['Impersonate-Uid'] = user['as-uid'];
  const groups = Array.isArray(user['as-groups']) ? (user['as-groups'] as string[]) : [];
  const tokenFile = typeof user['tokenFile'] === 'string' ? user['tokenFile'] : undefined;
  const token = tokenFile
    ? tokenFileReader(isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile))
    : undefined;
  if (typeof user['token'] === 'string') headers['Authorization'] = `Bearer ${user['token']}`;
  else if (typeof user['username'] === 'string') {
    const basic = Buffer.from(`${user['username']}:${String(user['password'] ?? '')}`);
    headers['Authorization'] = `Basic ${basic.toString('base64')}`;
  }
  return {
    server: cluster['server'],
    ca: material(base, cluster, 'certificate-authority', 'certificate-authority-data'),
    cert: material(base, user, 'client-certificate', 'client-certificate-data'),
    key: material(base, user, 'client-key', 'client-key-data'),
    servername:
      typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] === true ? false : undefined,
    headers: async () => {
      const out: Record<string, string | string[]> = { ...headers };
      if (token) out['Authorization'] = `Bearer ${token()}`;
      // An array becomes one header line per group, as the API server expects.
      if (groups.length) out['Impersonate-Group'] = groups;
      return out;
    },
    source: path,
  };
}

/**
 * The access a @kubernetes/client-node KubeConfig describes (its current context), for
 * callers that already have one (tests) and for the configurations read through it.
 */
export async function accessFromKubeConfig(
  kc: KubeConfig,
  source = 'kubeconfig',
): Promise<ClusterAccess> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new TypeError('the kubeconfig has no current cluster');
  const read = async () => {
    const opts: {
      headers: Record<string, unknown>;
      ca?: Buffer;
      cert?: Buffer;
      key?: Buffer;
      servername?: string;
      rejectUnauthorized?: boolean;
      auth?: string;
    } = { headers: {} };
    await kc.applyToHTTPSOptions(opts as never);
    return opts;
  };
  const first = await read();
  return {
    server: cluster.server,
    ca: first.ca,
    cert: first.cert,
    key: first.key,
    servername: first.servername,
    rejectUnauthorized: first.rejectUnauthorized,
    headers: async () => {
      const opts = await read();
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(opts.headers)) {
        if (v !== undefined) out[k] = Array.isArray(v) ? v.map(String) : String(v);
      }
      if (opts.auth) out['Authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return out;
    },
    source,
  };
}

async function viaClientNode(
  load: (kc: KubeConfig) => void,
  source: string,
): Promise<ClusterAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  load(kc);
  return accessFromKubeConfig(kc, source);
}

/**
 * Loads cluster access as kubectl would: `file` if given, else $KUBECONFIG, else
 * ~/.kube/config, else the in-cluster service account. Throws a TypeError when none
 * applies.
 */
export async function loadAccess(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ClusterAccess> {
  const fromFile = async (path: string) => {
    try {
      return fromKubeconfigFile(path);
    } catch (e) {
      if (!(e instanceof NeedsClientNode)) throw e;
      return viaClientNode((kc) => kc.loadFromFile(path), path);
    }
  };
  if (file) return fromFile(file);
  const listed = (env['KUBECONFIG'] ?? '').split(delimiter).filter(Boolean);
  if (listed.length > 1) {
    // Several files are merged by client-node's rules.
    return viaClientNode((kc) => kc.loadFromDefault(), listed.join(delimiter));
  }
  if (listed.length === 1) return fromFile(listed[0]!);
  const home = join(env['HOME'] ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromFile(home);
  const inCluster = inClusterAccess(env);
  if (inCluster) return inCluster;
  throw new TypeError('no kubeconfig ($KUBECONFIG, ~/.kube/config) and not in a cluster');
}

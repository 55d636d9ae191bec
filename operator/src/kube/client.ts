/**
 * A small JSON client for the Kubernetes API over one keep-alive connection pool
 * (config.ts says where and as whom). Requests do not go through @kubernetes/client-node's
 * generated APIs: in 2.0 those build a new connection pool for every call (no
 * keep-alive, a TLS handshake per request) and re-serialize each body through typed
 * models that drop fields they do not know. Bodies here are plain JSON both ways.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ClusterAccess } from './config.js';

/** An error answer of the API server, with its status code and Status reason. */
export class KubeError extends Error {
  /** HTTP status (404, 409, 410, 422, ...). */
  readonly code: number;
  /** The Status `reason` (NotFound, AlreadyExists, Conflict, Invalid, Expired, ...). */
  readonly reason: string;

  constructor(code: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeError';
    this.code = code;
    this.reason = reason;
  }

  /** Builds the error from a response body (a Status object, or anything else). */
  static from(code: number, body: string, what: string): KubeError {
    try {
      const status = JSON.parse(body) as { reason?: string; message?: string };
      return new KubeError(code, status.reason ?? '', `${what}: ${status.message ?? body}`);
    } catch {
      return new KubeError(code, '', `${what}: HTTP ${code} ${body.slice(0, 200)}`);
    }
  }
}

/** Whether `err` is an API error with status `code`. */
export function isStatus(err: unknown, code: number): boolean {
  return err instanceof KubeError && err.code === code;
}

/** Query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** Options of one request. */
export interface RequestInit {
  query?: Query;
  /** Sent as JSON (server-side apply accepts JSON as YAML). */
  body?: unknown;
  /** Content-Type of the body. Default `application/json`. */
  contentType?: string;
  /** Milliseconds before the request is abandoned. Default 30 000. */
  timeoutMs?: number;
  /**
   * Accept header. Default `application/json`; metadata-only reads ask for
   * `application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`.
   */
  accept?: string;
}

/** One watch event as the API server streams it. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** Options of {@link KubeClient}. */
export interface KubeClientOptions {
  /** Concurrent requests (watches aside); more wait for a free connection. Default 16. */
  maxSockets?: number;
  /** Sent as User-Agent. Default `wsgate-operator`. */
  userAgent?: string;
  /** Told about every answered request, for rest_client_requests_total. */
  onResponse?: (method: string, code: number) => void;
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The whole response body, as text. */
async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** JSON requests and watches against one API server. */
export class KubeClient {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  private readonly access: ClusterAccess;
  private readonly agent: HttpAgent;
  private readonly watchAgent: HttpAgent;
  /** http.request or https.request, after the server's scheme. */
  private readonly send: typeof httpRequest;
  private readonly userAgent: string;
  private readonly onResponse: ((method: string, code: number) => void) | undefined;

  constructor(access: ClusterAccess, options: KubeClientOptions = {}) {
    this.access = access;
    this.server = access.server.replace(/\/+$/, '');
    const secure = this.server.startsWith('https:');
    this.send = secure ? (httpsRequest as typeof httpRequest) : httpRequest;
    const agentOptions = {
      keepAlive: true,
      keepAliveMsecs: 30_000,
      ca: access.ca,
      cert: access.cert,
      key: access.key,
      servername: access.servername,
      ...(access.rejectUnauthorized === undefined
        ? {}
        : { rejectUnauthorized: access.rejectUnauthorized }),
    };
    const Agent = secure ? HttpsAgent : HttpAgent;
    this.agent = new Agent({ ...agentOptions, maxSockets: options.maxSockets ?? 16 });
    // Watches hold their connection for minutes; they get their own pool.
    this.watchAgent = new Agent({ ...agentOptions });
    this.userAgent = options.userAgent ?? 'wsgate-operator';
    this.onResponse = options.onResponse;
  }

  private async open(
    method: string,
    path: string,
    init: RequestInit,
    watch: boolean,
  ): Promise<{ res: IncomingMessage; abort: (err: Error) => void }> {
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const headers: Record<string, string | string[]> = {
      ...(await this.access.headers()),
      Accept: init.accept ?? 'application/json',
      'User-Agent': this.userAgent,
    };
    if (body !== undefined) {
      headers['Content-Type'] = init.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const url = `${this.server}${path}${queryString(init.query)}`;
    const attempt = (retry: boolean) =>
      new Promise<{ res: IncomingMessage; abort: (err: Error) => void }>((resolve, reject) => {
        const req = this.send(url, {
          method,
          headers,
          agent: watch ? this.watchAgent : this.agent,
          timeout: init.timeoutMs ?? 30_000,
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', (err) => {
          // A kept-alive connection the server closed meanwhile: try once on a new one.
          if (retry && req.reusedSocket && errorCode(err) === 'ECONNRESET') {
            attempt(false).then(resolve, reject);
          } else reject(err);
        });
        req.on('response', (res) => resolve({ res, abort: (err) => req.destroy(err) }));
        req.end(body);
      });
    return attempt(true);
  }

  /**
   * Sends one request and returns the parsed JSON answer. Throws {@link KubeError} for
   * an error status, or the network error.
   */
  async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const { res } = await this.open(method, path, init, false);
    const text = await readText(res);
    const code = res.statusCode ?? 0;
    this.onResponse?.(method, code);
    if (code >= 400) throw KubeError.from(code, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** GET, or null for 404. */
  async get<T>(path: string, query?: Query): Promise<T | null> {
    try {
      return await this.request<T>('GET', path, { query });
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  /** Server-side apply of `object` to `path` as `fieldManager`, forcing conflicts. */
  apply<T>(path: string, object: unknown, fieldManager: string): Promise<T> {
    return this.request<T>('PATCH', path, {
      query: { fieldManager, force: true },
      body: object,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /**
   * Streams a watch: `onEvent` gets every event in order. Resolves when the server ends
   * the stream (its timeoutSeconds ran out), rejects on a network error, on an error
   * status, when `onEvent` throws, or when nothing arrives for `idleMs`.
   */
  async watch<T>(
    path: string,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
    idleMs: number,
    accept?: string,
  ): Promise<void> {
    const init: RequestInit = { query: { ...query, watch: true }, timeoutMs: idleMs, accept };
    const { res, abort } = await this.open('GET', path, init, true);
    const code = res.statusCode ?? 0;
    this.onResponse?.('WATCH', code);
    if (code >= 400) throw KubeError.from(code, await readText(res), `WATCH ${path}`);
    const onAbort = () => abort(new Error('watch stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    try {
      let buffered = '';
      res.setEncoding('utf8');
      for await (const chunk of res) {
        buffered += chunk as string;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
        }
      }
    } catch (err) {
      abort(err as Error);
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Closes idle connections; open watches end with their own abort. */
  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }
}

/**
 * The proxy's one catalogue of refusals and closes. Before the upgrade a refusal is an
 * HTTP status; after it, a WebSocket close code. `result` is the label counted in
 * `wsgate_connections_total{result}`, so every failure lands in exactly one bucket.
 */

export type ConnectionResult =
  | 'ok'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'upstream_error'
  | 'bad_request'
  | 'draining'
  | 'target_busy';

export interface Refusal {
  code: string;
  status: number;
  result: ConnectionResult;
  message: string;
}

function refusal(code: string, status: number, result: ConnectionResult, message: string): Refusal {
  return Object.freeze({ code, status, result, message });
}

export const REFUSALS = {
  notWebSocket: refusal(
    'PROXY_ERR_NOT_WEBSOCKET',
    426,
    'bad_request',
    'WebSocket upgrade required',
  ),
  malformed: refusal('PROXY_ERR_MALFORMED', 400, 'bad_request', 'Malformed HTTP request'),
  headersTooLarge: refusal(
    'PROXY_ERR_HEADERS_TOO_LARGE',
    431,
    'bad_request',
    'Request headers too large',
  ),
  badMethod: refusal('PROXY_ERR_BAD_METHOD', 405, 'bad_request', 'WebSocket upgrades use GET'),
  badHttp: refusal(
    'PROXY_ERR_BAD_HTTP',
    400,
    'bad_request',
    'WebSocket upgrades need HTTP/1.1 and a Host header',
  ),
  badKey: refusal('PROXY_ERR_BAD_KEY', 400, 'bad_request', 'Missing or invalid Sec-WebSocket-Key'),
  badVersion: refusal(
    'PROXY_ERR_BAD_VERSION',
    400,
    'bad_request',
    'Unsupported Sec-WebSocket-Version',
  ),
  badProtocol: refusal(
    'PROXY_ERR_BAD_PROTOCOL',
    400,
    'bad_request',
    'Invalid Sec-WebSocket-Protocol',
  ),
  noToken: refusal(
    'PROXY_ERR_NO_TOKEN',
    401,
    'unauthorized',
    'No token in query, cookie, path or subprotocol',
  ),
  unknownToken: refusal('PROXY_ERR_UNKNOWN_TOKEN', 401, 'unauthorized', 'Unknown token'),
  tokenRefused: refusal('PROXY_ERR_TOKEN_REFUSED', 401, 'unauthorized', 'Token refused'),
  tokenReplayed: refusal(
    'PROXY_ERR_TOKEN_REPLAYED',
    401,
    'unauthorized',
    'Single-use ticket already used',
  ),
  // 503, not 401: the ticket may be fine, but its use cannot be recorded (fail closed).
  replayStore: refusal(
    'PROXY_ERR_REPLAY_STORE',
    503,
    'unauthorized',
    'Single-use tickets cannot be checked now',
  ),
  targetForbidden: refusal('PROXY_ERR_TARGET_FORBIDDEN', 403, 'forbidden', 'Target not allowed'),
  unixForbidden: refusal(
    'PROXY_ERR_UNIX_FORBIDDEN',
    403,
    'forbidden',
    'Unix socket target not under --allow-unix-dir',
  ),
  originForbidden: refusal('PROXY_ERR_ORIGIN_FORBIDDEN', 403, 'forbidden', 'Origin not allowed'),
  tooManyConnections: refusal('PROXY_ERR_TOO_MANY', 503, 'rate_limited', 'Too many connections'),
  tooManyFromIp: refusal(
    'PROXY_ERR_TOO_MANY_FROM_IP',
    429,
    'rate_limited',
    'Too many connections from this address',
  ),
  clientCertificate: refusal(
    'PROXY_ERR_CLIENT_CERT',
    403,
    'forbidden',
    'Client certificate not allowed',
  ),
  targetTls: refusal('PROXY_ERR_TARGET_TLS', 502, 'upstream_error', 'TLS to the target failed'),
  rateLimited: refusal('PROXY_ERR_RATE_LIMITED', 429, 'rate_limited', 'Too many handshakes'),
  targetRefused: refusal(
    'PROXY_ERR_TARGET_REFUSED',
    502,
    'upstream_error',
    'Target refused the connection',
  ),
  targetTimeout: refusal(
    'PROXY_ERR_TARGET_TIMEOUT',
    502,
    'upstream_error',
    'Target connect timed out',
  ),
  targetUnreachable: refusal(
    'PROXY_ERR_TARGET_UNREACHABLE',
    502,
    'upstream_error',
    'Target unreachable',
  ),
  draining: refusal('PROXY_ERR_DRAINING', 503, 'draining', 'Proxy is shutting down'),
  targetBusy: refusal(
    'PROXY_ERR_TARGET_BUSY',
    409,
    'target_busy',
    'The target has as many sessions as --max-sessions-per-target allows',
  ),
} as const;

/** Answers of the admin API (`--admin-listen`); not upgrades, so not counted by result. */
export interface AdminError {
  code: string;
  status: number;
  message: string;
}

export const ADMIN_ERRORS = {
  unauthorized: {
    code: 'PROXY_ERR_ADMIN_UNAUTHORIZED',
    status: 401,
    message: 'Missing or wrong bearer token',
  },
  notFound: { code: 'PROXY_ERR_ADMIN_NOT_FOUND', status: 404, message: 'No such resource' },
  sessionNotFound: {
    code: 'PROXY_ERR_SESSION_NOT_FOUND',
    status: 404,
    message: 'No open session with this id',
  },
  badMethod: { code: 'PROXY_ERR_ADMIN_BAD_METHOD', status: 405, message: 'Method not allowed' },
  badRequest: {
    code: 'PROXY_ERR_ADMIN_BAD_REQUEST',
    status: 400,
    message: 'DELETE /sessions needs ?target=HOST:PORT',
  },
  unavailable: {
    code: 'PROXY_ERR_ADMIN_UNAVAILABLE',
    status: 503,
    message: 'A worker did not answer in time',
  },
} as const satisfies Record<string, AdminError>;

/** WebSocket close codes (RFC 6455 §7.4.1) with the reasons sent to the client. */
export const CLOSES = {
  targetClosed: { code: 1000, reason: 'target closed the connection' },
  shutdown: { code: 1001, reason: 'proxy shutting down' },
  idle: { code: 1008, reason: 'idle timeout' },
  maxSession: { code: 1008, reason: 'maximum session length reached' },
  tooBig: { code: 1009, reason: 'message too big' },
  targetError: { code: 1011, reason: 'target connection error' },
  ticketExpired: { code: 1008, reason: 'ticket expired' },
  admin: { code: 1008, reason: 'closed by administrator' },
  /** 4000-4999 is for applications (RFC 6455 §7.4.2): a policy close that is not a fault. */
  replaced: { code: 4001, reason: 'replaced by a newer session' },
} as const;

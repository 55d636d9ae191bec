/** The WebSocketProxy API: generated types and constants, defaulting, and the external kinds. */
export * from './websocketproxy-types.js';
export * from './defaults.js';
export * from './external-types.js';

/** The server-side apply field manager for everything the operator writes. */
export const FIELD_MANAGER = 'wsgate-operator';

/**
 * Schema defaulting, done the way the API server does it (apiextensions-apiserver's
 * structural defaulting): a missing or null field with a default gets a copy of it, then
 * defaulting continues into every present value, so `default: {}` on a parent lets its
 * children's defaults apply. Objects from the API server are already defaulted; this
 * makes objects built in tests, or read from files, look the same.
 */
import {
  API_VERSION,
  KIND,
  SCHEMA_DEFAULTS,
  type DefaultsNode,
  type WebSocketProxy,
} from './websocketproxy-types.js';

/** Every field optional, at every depth: a WebSocketProxy as a user may write it. */
export type DeepPartial<T> = T extends (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** A WebSocketProxy before defaulting (what `kubectl apply` sends). */
export type WebSocketProxyInput = DeepPartial<WebSocketProxy>;

function fill(value: unknown, node: DefaultsNode): void {
  if (Array.isArray(value)) {
    if (node.items) for (const item of value) fill(item, node.items);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const object = value as Record<string, unknown>;
  const properties = node.properties ?? {};
  for (const [name, child] of Object.entries(properties)) {
    if (child.default !== undefined && (object[name] === undefined || object[name] === null)) {
      object[name] = structuredClone(child.default);
    }
  }
  for (const [name, child] of Object.entries(object)) {
    const schema = Object.hasOwn(properties, name) ? properties[name] : node.additionalProperties;
    if (schema) fill(child, schema);
  }
}

/**
 * Returns a defaulted deep copy of `value`; the input is not modified.
 * @param node - schema node to start from; default: the whole resource.
 */
export function applyDefaults<T>(value: T, node: DefaultsNode = SCHEMA_DEFAULTS): T {
  const copy = structuredClone(value);
  fill(copy, node);
  return copy;
}

/**
 * Checks that `object` is a WebSocketProxy (apiVersion, kind, a spec object) and returns
 * it defaulted. Throws a TypeError naming what is wrong. Field values are not validated
 * here: the CRD schema did that on admission, and operator/src/api/validate.ts does the rest.
 */
export function toWebSocketProxy(object: unknown): WebSocketProxy {
  if (object === null || typeof object !== 'object') {
    throw new TypeError('a WebSocketProxy must be an object');
  }
  const { apiVersion, kind, spec } = object as Record<string, unknown>;
  if (apiVersion !== undefined && apiVersion !== API_VERSION) {
    throw new TypeError(`apiVersion is ${String(apiVersion)}, expected ${API_VERSION}`);
  }
  if (kind !== undefined && kind !== KIND) {
    throw new TypeError(`kind is ${String(kind)}, expected ${KIND}`);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new TypeError('spec must be an object');
  }
  const result = applyDefaults(object as WebSocketProxy);
  result.spec.tokens ??= {};
  return result;
}

/** {@link toWebSocketProxy} for typed input, as tests and examples build it. */
export function withDefaults(input: WebSocketProxyInput): WebSocketProxy {
  return toWebSocketProxy({ apiVersion: API_VERSION, kind: KIND, ...input });
}

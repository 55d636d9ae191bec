/** values.yaml documents every value, and values.schema.json describes exactly those values. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { CHART } from './helpers.js';

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
}

/**
 * Values that hold Kubernetes objects (or lists of them): their own keys are Kubernetes'
 * and documented there; the value itself has a comment and a schema.
 */
const KUBERNETES_OBJECTS = new Set([
  'resources',
  'podSecurityContext',
  'securityContext',
  'livenessProbe',
  'readinessProbe',
  'extraEnv',
  'imagePullSecrets',
]);

const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
const values = parse(valuesText) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Schema;

/** Paths of keys the chart defines (schema objects with properties), with their schema. */
function chartKeys(node: Schema, path: string[] = []): Array<{ path: string[]; node: Schema }> {
  const out: Array<{ path: string[]; node: Schema }> = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    out.push({ path: [...path, key], node: child });
    if (!(path.length === 0 && KUBERNETES_OBJECTS.has(key))) {
      out.push(...chartKeys(child, [...path, key]));
    }
  }
  return out;
}

function lookup(obj: unknown, path: string[]): unknown {
  return path.reduce<unknown>(
    (o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
    obj,
  );
}

describe('values', () => {
  test('every schema object with properties forbids others', () => {
    assert.equal(schema.additionalProperties, false);
    for (const { path, node } of chartKeys(schema)) {
      if (node.properties && !KUBERNETES_OBJECTS.has(path[0]!)) {
        assert.equal(node.additionalProperties, false, `${path.join('.')} allows unknown keys`);
      }
    }
  });

  test('every value in values.yaml is in the schema', () => {
    const walk = (obj: Record<string, unknown>, node: Schema, path: string[]) => {
      for (const [key, value] of Object.entries(obj)) {
        const child = node.properties?.[key];
        if (!node.properties) return; // a free-form Kubernetes object (resources, affinity…)
        assert.ok(child, `${[...path, key].join('.')} is not in values.schema.json`);
        const nested = value !== null && typeof value === 'object' && !Array.isArray(value);
        if (nested && !(path.length === 0 && KUBERNETES_OBJECTS.has(key))) {
          walk(value as Record<string, unknown>, child, [...path, key]);
        }
      }
    };
    walk(values, schema, []);
  });

  test('every schema key is in values.yaml, set or shown commented out', () => {
    for (const { path } of chartKeys(schema)) {
      const present = lookup(values, path) !== undefined;
      const commented = new RegExp(`^\\s*# ${path.at(-1)}:`, 'm').test(valuesText);
      assert.ok(present || commented, `${path.join('.')} is not in values.yaml`);
    }
  });

  test('a comment above every key the chart defines', () => {
    const lines = valuesText.split('\n');
    const keys = new Set(chartKeys(schema).map(({ path }) => path.at(-1)));
    let previous = '';
    let parents: string[] = [];
    for (const line of lines) {
      const m = /^(\s*)([A-Za-z][\w]*):/.exec(line);
      if (m) {
        const depth = m[1]!.length / 2;
        parents = [...parents.slice(0, depth), m[2]!];
        const top = parents[0]!;
        // Inside free-form Kubernetes objects the value's own comment covers the keys.
        const freeForm = depth > 0 && KUBERNETES_OBJECTS.has(top);
        if (keys.has(m[2]) && !freeForm) {
          assert.match(previous, /^\s*#/, `values.yaml: no comment above ${parents.join('.')}`);
        }
      }
      if (line.trim() !== '') previous = line;
      else previous = '';
    }
  });
});

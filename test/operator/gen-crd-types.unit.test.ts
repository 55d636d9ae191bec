/** The generated API types stay in step with the CRD, and the generator's rules hold. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, readRepoFile } from './helpers.js';

interface GeneratorModule {
  CRD_PATH: string;
  OUT_PATH: string;
  generate(crdText: string): string;
}

const load = async () => (await import(join(ROOT, 'scripts/gen-crd-types.mjs'))) as GeneratorModule;

const crd = (schema: unknown) =>
  JSON.stringify({
    metadata: { name: 'xs.example.com' },
    spec: {
      group: 'example.com',
      names: { kind: 'X', listKind: 'XList', plural: 'xs' },
      versions: [{ name: 'v1', storage: true, schema: { openAPIV3Schema: schema } }],
    },
  });

describe('gen-crd-types', () => {
  test('the committed file is what the CRD generates (run node scripts/gen-crd-types.mjs)', async () => {
    const { CRD_PATH, OUT_PATH, generate } = await load();
    assert.equal(readRepoFile(OUT_PATH), generate(readRepoFile(CRD_PATH)));
  });

  test('defaulted fields are required, others optional; enums become unions', async () => {
    const { generate } = await load();
    const out = generate(
      crd({
        title: 'X',
        type: 'object',
        required: ['spec'],
        properties: {
          spec: {
            title: 'XSpec',
            type: 'object',
            properties: {
              a: { type: 'integer', default: 1 },
              b: { type: 'string', enum: ['p', 'q'] },
              c: { type: 'object', additionalProperties: { type: 'string' } },
              d: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              e: {
                'x-kubernetes-int-or-string': true,
                anyOf: [{ type: 'integer' }, { type: 'string' }],
              },
            },
          },
        },
      }),
    );
    assert.match(out, /spec: XSpec;/);
    assert.match(out, /a: number;/);
    assert.match(out, /b\?: 'p' \| 'q';/);
    assert.match(out, /c\?: Record<string, string>;/);
    assert.match(out, /d\?: Record<string, unknown>;/);
    assert.match(out, /e\?: number \| string;/);
    assert.match(out, /a: \{ default: 1 \}/);
    assert.match(out, /export const API_VERSION = 'example.com\/v1';/);
  });

  test('objects with properties need a title; one title, one shape', async () => {
    const { generate } = await load();
    const object = (title: string | undefined, props: Record<string, unknown>) => ({
      ...(title ? { title } : {}),
      type: 'object',
      properties: props,
    });
    assert.throws(
      () => generate(crd(object('X', { spec: object(undefined, { a: { type: 'string' } }) }))),
      /spec: object schemas with properties need a title/,
    );
    assert.throws(
      () =>
        generate(
          crd(
            object('X', {
              a: object('Ref', { name: { type: 'string' } }),
              b: object('Ref', { key: { type: 'string' } }),
            }),
          ),
        ),
      /title Ref is used for two different shapes/,
    );
  });
});

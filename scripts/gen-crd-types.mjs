#!/usr/bin/env node
/**
 * Generates operator/src/api/websocketproxy-types.ts from the WebSocketProxy CRD, so the
 * schema is written once (crds/wsgate.dev_websocketproxies.yaml) and the TypeScript
 * types, API constants and defaults follow it.
 *
 *   node scripts/gen-crd-types.mjs           write the file
 *   node scripts/gen-crd-types.mjs --check   exit 1 if the committed file is stale
 *
 * Types describe the resource as the API server returns it: a field with a schema
 * default is never missing there, so it is not optional here. Every object schema with
 * properties must carry a `title`, which names its interface; equal titles must have
 * equal shapes. The output is already Prettier-formatted (this script has no
 * dependency but `yaml`), which a unit test checks together with freshness.
 *
 * Why not @kubernetes-models/crd-generate (5.1, checked against this CRD): its output makes
 * every defaulted field optional (37 type errors in operator/ when aliased in), inlines
 * nested objects instead of naming them by `title`, has none of the API constants or
 * SCHEMA_DEFAULTS, types metadata with its own ObjectMeta rather than client-node's, emits
 * a Model class with a 7,000-line ajv validator that imports @kubernetes-models/validate
 * (ajv) at run time, uses extensionless relative imports that do not compile under
 * NodeNext, is not Prettier-formatted, and has no --check mode.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';

export const CRD_PATH = 'crds/wsgate.dev_websocketproxies.yaml';
export const OUT_PATH = 'operator/src/api/websocketproxy-types.ts';

const WIDTH = 100;

/** Word-wraps `text` into a TSDoc block indented by `indent` spaces. */
function doc(text, indent) {
  const pad = ' '.repeat(indent);
  const clean = text.replace(/\s+/g, ' ').trim().replace(/\*\//g, '*\\/');
  if (pad.length + clean.length + 7 <= WIDTH) return [`${pad}/** ${clean} */`];
  const lines = [`${pad}/**`];
  let line = '';
  for (const word of clean.split(' ')) {
    if (line && pad.length + 3 + line.length + 1 + word.length > WIDTH) {
      lines.push(`${pad} * ${line}`);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(`${pad} * ${line}`);
  lines.push(`${pad} */`);
  return lines;
}

/** A TS literal for a JSON default value, in Prettier's style. */
function literal(value) {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${key(k)}: ${literal(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}

function key(name) {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : literal(name);
}

/** Strips documentation so two uses of one title can be compared by shape. */
function shape(node) {
  if (Array.isArray(node)) return node.map(shape);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) if (k !== 'description') out[k] = shape(v);
  return out;
}

class Generator {
  /** title -> { node, paths } in first-seen order. */
  interfaces = new Map();

  typeOf(node, path) {
    if (node['x-kubernetes-int-or-string']) return 'number | string';
    if (node.enum) return node.enum.map(literal).join(' | ');
    switch (node.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        const item = this.typeOf(node.items, `${path}[]`);
        return item.includes(' ') ? `(${item})[]` : `${item}[]`;
      }
      case 'object':
        if (path === 'metadata') return 'V1ObjectMeta';
        if (node.properties) return this.register(node, path);
        if (node.additionalProperties && typeof node.additionalProperties === 'object') {
          return `Record<string, ${this.typeOf(node.additionalProperties, `${path}.*`)}>`;
        }
        return 'Record<string, unknown>';
      default:
        throw new Error(`${path || '(root)'}: unsupported schema type ${node.type}`);
    }
  }

  register(node, path) {
    const title = node.title;
    if (!title) throw new Error(`${path || '(root)'}: object schemas with properties need a title`);
    const seen = this.interfaces.get(title);
    if (seen) {
      if (JSON.stringify(shape(seen.node)) !== JSON.stringify(shape(node))) {
        throw new Error(`${path}: title ${title} is used for two different shapes`);
      }
      seen.paths.push(path);
      return title;
    }
    const entry = { node, paths: [path], fields: [] };
    this.interfaces.set(title, entry);
    const required = new Set(node.required ?? []);
    for (const [name, prop] of Object.entries(node.properties)) {
      const type = this.typeOf(prop, path ? `${path}.${name}` : name);
      const optional = !required.has(name) && prop.default === undefined;
      entry.fields.push({ name, prop, type, optional });
    }
    return title;
  }

  renderInterface(title, { node, paths, fields }) {
    const where = paths.map((p) => (p ? `\`${p}\`` : 'the resource')).join(', ');
    const about = paths.length === 1 && node.description ? `${node.description.trim()} ` : '';
    const out = [...doc(`${about}Schema: ${where}.`, 0), `export interface ${title} {`];
    for (const { name, prop, type, optional } of fields) {
      const notes = [
        prop.description?.trim(),
        prop.default !== undefined && `Default \`${literal(prop.default)}\`.`,
      ];
      const text = notes.filter(Boolean).join(' ');
      if (text) out.push(...doc(text, 2));
      const head = `  ${key(name)}${optional ? '?' : ''}:`;
      if (head.length + 1 + type.length + 1 <= WIDTH || !type.includes(' | ')) {
        out.push(`${head} ${type};`);
      } else {
        // Prettier breaks a long union into one member per line.
        const members = type.split(' | ');
        out.push(
          head,
          ...members.map((m, i) => `    | ${m}${i === members.length - 1 ? ';' : ''}`),
        );
      }
    }
    out.push('}');
    return out.join('\n');
  }
}

/** The defaults tree: only the branches of the schema that lead to a default. */
function defaultsTree(node) {
  const tree = {};
  if (node.default !== undefined) tree.default = node.default;
  if (node.properties) {
    const props = {};
    for (const [name, prop] of Object.entries(node.properties)) {
      const sub = defaultsTree(prop);
      if (sub) props[name] = sub;
    }
    if (Object.keys(props).length) tree.properties = props;
  }
  if (node.items) {
    const sub = defaultsTree(node.items);
    if (sub) tree.items = sub;
  }
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    const sub = defaultsTree(node.additionalProperties);
    if (sub) tree.additionalProperties = sub;
  }
  return Object.keys(tree).length ? tree : null;
}

/** Prints the tree expanded (branches) and inline (leaves), as Prettier keeps it. */
function printTree(tree, indent, lead = 0) {
  const pad = ' '.repeat(indent);
  const inner = ' '.repeat(indent + 2);
  const keys = Object.keys(tree);
  if (keys.length === 1 && keys[0] === 'default') {
    // Inline when it fits on the caller's line (with its trailing comma), as Prettier does.
    const inline = `{ default: ${literal(tree.default)} }`;
    if (lead + inline.length + 1 <= WIDTH) return inline;
    return `{\n${inner}default: ${literal(tree.default)},\n${pad}}`;
  }
  const lines = ['{'];
  for (const k of keys) {
    if (k === 'default') {
      lines.push(`${inner}default: ${literal(tree.default)},`);
    } else if (k === 'properties') {
      lines.push(`${inner}properties: {`);
      for (const [name, sub] of Object.entries(tree.properties)) {
        const lead = `${inner}  ${key(name)}: `;
        lines.push(`${lead}${printTree(sub, indent + 4, lead.length)},`);
      }
      lines.push(`${inner}},`);
    } else {
      lines.push(`${inner}${k}: ${printTree(tree[k], indent + 2)},`);
    }
  }
  lines.push(`${pad}}`);
  return lines.join('\n');
}

/** Returns the TypeScript source generated from the CRD's text. */
export function generate(crdText) {
  const crd = parse(crdText);
  const { group, names } = crd.spec;
  const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0];
  const schema = version.schema.openAPIV3Schema;
  const gen = new Generator();
  gen.typeOf(schema, '');
  const constants = [
    ['GROUP', group, 'API group.'],
    ['VERSION', version.name, 'Served and stored version.'],
    ['API_VERSION', `${group}/${version.name}`, '`apiVersion` of every WebSocketProxy.'],
    ['KIND', names.kind, 'Kind.'],
    ['LIST_KIND', names.listKind, 'Kind of lists.'],
    ['PLURAL', names.plural, 'Resource name in URLs and RBAC rules.'],
    ['CRD_NAME', crd.metadata.name, 'Name of the CustomResourceDefinition.'],
  ];
  const parts = [
    [
      `// Generated from ${CRD_PATH} by scripts/gen-crd-types.mjs.`,
      '// Do not edit: change the CRD and run `node scripts/gen-crd-types.mjs`.',
      "import type { V1ObjectMeta } from '@kubernetes/client-node';",
    ].join('\n'),
    constants
      .map(([name, value, text]) => `/** ${text} */\nexport const ${name} = ${literal(value)};`)
      .join('\n'),
    ...[...gen.interfaces].map(([title, entry]) => gen.renderInterface(title, entry)),
    [
      '/** A node of {@link SCHEMA_DEFAULTS}: the defaults a schema node and its children carry. */',
      'export interface DefaultsNode {',
      '  default?: unknown;',
      '  properties?: Record<string, DefaultsNode>;',
      '  items?: DefaultsNode;',
      '  additionalProperties?: DefaultsNode;',
      '}',
    ].join('\n'),
    [
      '/** The CRD schema reduced to its defaults, for applying them as the API server does. */',
      `export const SCHEMA_DEFAULTS: DefaultsNode = ${printTree(defaultsTree(schema) ?? {}, 0)};`,
    ].join('\n'),
  ];
  return parts.join('\n\n') + '\n';
}

function main() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const source = generate(readFileSync(root + CRD_PATH, 'utf8'));
  if (process.argv.includes('--check')) {
    if (readFileSync(root + OUT_PATH, 'utf8') !== source) {
      console.error(`${OUT_PATH} is stale: run node scripts/gen-crd-types.mjs`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(root + OUT_PATH, source);
  console.log(`wrote ${OUT_PATH}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();

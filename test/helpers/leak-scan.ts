/**
 * Finds secrets (tokens, tickets, passwords) in captured log lines in any form a careless
 * log call would produce: raw, percent-encoded (encodeURIComponent, `+` for space, lower-
 * case hex, double-encoded), inside a logged URL or header (`?token=…`, `Cookie: token=…`,
 * `Sec-WebSocket-Protocol: token.…`), hex, base64 and base64url (also as part of a longer
 * encoded blob, such as an `Authorization: Basic` value), and the parts of a ticket that are
 * secret on their own (a JWT's payload and signature, an oVirt ticket's signatures).
 *
 * Every string in a line is looked at (values and keys, nested objects and arrays), and
 * each string is also looked at percent-decoded, so the scan does not depend on how the
 * JSON encoder escaped it. `tokenHash()` values are one-way and never match.
 */
import assert from 'node:assert/strict';

export interface Leak {
  /** Index of the line in the scanned list. */
  line: number;
  /** Where in the line: a dotted path of keys (`req.url`), `(key)` for a key itself. */
  field: string;
  /** Which form of which secret: `raw`, `base64`, `percent-decoded raw`, `JWT signature`, … */
  form: string;
  secret: string;
}

/** A form of a secret to look for, and what to call it in a report. */
interface Needle {
  text: string;
  form: string;
  secret: string;
  /** Compare case-insensitively (hex). */
  fold?: boolean;
}

/** Parts of a ticket that are secret on their own; too short or generic parts are left out. */
function secretParts(secret: string): { text: string; form: string }[] {
  const parts: { text: string; form: string }[] = [];
  const jwt = /^([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(secret);
  if (jwt) {
    // The header (`{"alg":…}`) is the same for every ticket of a key, so not a secret.
    parts.push({ text: jwt[2]!, form: 'JWT payload' }, { text: jwt[3]!, form: 'JWT signature' });
  }
  // An oVirt ticket: base64 of a JSON object whose `signature` is the secret part.
  try {
    const inner: unknown = JSON.parse(
      Buffer.from(secret.replace(/ /g, '+'), 'base64').toString('utf8'),
    );
    if (inner && typeof inner === 'object') {
      for (const field of ['signature', 'v2_signature']) {
        const sig = (inner as Record<string, unknown>)[field];
        if (typeof sig === 'string') parts.push({ text: sig, form: `oVirt ${field}` });
      }
    }
  } catch {
    // not an oVirt ticket
  }
  return parts.filter((p) => p.text.length >= 8);
}

/**
 * The base64 characters that encode `bytes` wherever they sit in a longer buffer: one
 * string per alignment (0, 1 or 2 bytes before them), keeping only the characters fully
 * determined by `bytes`.
 */
function base64Fragments(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const first = Math.ceil((8 * k) / 6);
    const last = Math.floor((8 * (k + bytes.length) - 6) / 6);
    if (last >= first) out.push(encoded.slice(first, last + 1));
  }
  return out;
}

function needlesFor(secret: string): Needle[] {
  const needles: Needle[] = [];
  const add = (text: string, form: string, fold = false) => {
    if (text && !needles.some((n) => n.text === text)) needles.push({ text, form, secret, fold });
  };
  const forms = [{ text: secret, form: '' }, ...secretParts(secret)];
  for (const { text, form } of forms) {
    const name = (f: string) => (form ? `${form} ${f}` : f);
    add(text, name('raw'));
    add(encodeURIComponent(text), name('percent-encoded'));
    add(new URLSearchParams({ t: text }).toString().slice(2), name('form-encoded'));
    add(Buffer.from(text).toString('hex'), name('hex'), true);
    for (const b64 of base64Fragments(Buffer.from(text))) {
      add(b64, name('base64'));
      add(b64.replace(/\+/g, '-').replace(/\//g, '_'), name('base64url'));
    }
  }
  return needles;
}

/** Percent-decodes leniently (bad escapes stay as they are); `plus` also reads `+` as a space. */
function percentDecode(s: string, plus: boolean): string {
  const input = plus ? s.replace(/\+/g, ' ') : s;
  const bytes: number[] = [];
  for (let i = 0; i < input.length;) {
    const m = /^%([0-9a-fA-F]{2})/.exec(input.slice(i, i + 3));
    if (m) {
      bytes.push(parseInt(m[1]!, 16));
      i += 3;
    } else {
      const cp = input.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch));
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The string itself and its percent-decodings (up to three rounds, for double encoding). */
function views(s: string): { text: string; how: string }[] {
  const out = [{ text: s, how: '' }];
  for (const plus of [false, true]) {
    let current = s;
    for (let round = 1; round <= 3; round++) {
      const next = percentDecode(current, plus);
      if (next === current) break;
      current = next;
      if (!out.some((v) => v.text === current))
        out.push({ text: current, how: plus ? 'form-decoded ' : 'percent-decoded ' });
    }
  }
  return out;
}

function strings(value: unknown, path: string, out: { field: string; text: string }[]): void {
  if (typeof value === 'string') out.push({ field: path, text: value });
  else if (typeof value === 'number' || typeof value === 'bigint')
    out.push({ field: path, text: String(value) });
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${k}` : k;
      out.push({ field: `${at} (key)`, text: k });
      strings(v, at, out);
    }
  }
}

/** The leaks in one line (`index` is reported as its line number). */
export type LineScanner = (line: unknown, index: number) => Leak[];

/**
 * A scanner for `secrets`, their forms computed once. Secrets shorter than 4 characters
 * are refused: they would match ordinary words, so a test must use a longer one.
 */
export function leakScanner(secrets: readonly string[]): LineScanner {
  for (const s of secrets)
    if (s.length < 4) throw new Error(`secret ${JSON.stringify(s)} is too short to scan for`);
  const needles = secrets.flatMap(needlesFor);
  return (line, index) => {
    const leaks: Leak[] = [];
    const fields: { field: string; text: string }[] = [];
    strings(line, '', fields);
    for (const { field, text } of fields) {
      for (const view of views(text)) {
        const lower = view.text.toLowerCase();
        for (const n of needles) {
          const hit = n.fold ? lower.includes(n.text.toLowerCase()) : view.text.includes(n.text);
          if (hit && !leaks.some((l) => l.field === field && l.secret === n.secret))
            leaks.push({ line: index, field, form: view.how + n.form, secret: n.secret });
        }
      }
    }
    return leaks;
  };
}

/** Every occurrence of any form of any of `secrets` in `lines` (JSON log records or text). */
export function findLeaks(lines: readonly unknown[], secrets: readonly string[]): Leak[] {
  const scan = leakScanner(secrets);
  return lines.flatMap((line, index) => scan(line, index));
}

/** One message per leak, naming line, field, form and secret. */
export const describeLeaks = (leaks: readonly Leak[]) =>
  leaks.map((l) => `line ${l.line} ${l.field}: ${l.form} of ${JSON.stringify(l.secret)}`);

/** Fails, naming line, field and form, if any form of any secret is in any of `lines`. */
export function assertNoLeaks(lines: readonly unknown[], secrets: readonly string[]): void {
  assert.ok(lines.length > 0, 'no log lines were captured: the scan would prove nothing');
  const leaks = findLeaks(lines, secrets);
  assert.deepEqual(
    describeLeaks(leaks),
    [],
    `secrets in the log:\n${leaks.map((l) => JSON.stringify(lines[l.line])).join('\n')}`,
  );
}

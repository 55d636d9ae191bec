/**
 * RESP2, the Redis wire protocol, as far as a client of a few commands needs it:
 * commands go out as arrays of bulk strings; replies are parsed incrementally from
 * whatever chunks TCP delivers. Pure: no I/O.
 */

/** An error reply (`-ERR …`, `-WRONGPASS …`): the command failed, the connection is fine. */
export class RespError extends Error {
  override name = 'RespError';
}

export type RespValue = string | number | null | RespError | RespValue[];

/** Encodes one command, e.g. `['SET', 'k', 'v']`. */
export function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Bounds what a reply may claim, so a confused peer cannot make us buffer without end. */
const MAX_BULK = 64 * 1024 * 1024;

/** Incremental reply parser: feed chunks, take complete replies. */
export class RespParser {
  #buf: Buffer = Buffer.alloc(0);

  /** Appends `chunk`; returns every reply now complete. Throws on a protocol violation. */
  push(chunk: Buffer): RespValue[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    const out: RespValue[] = [];
    for (;;) {
      const r = parseValue(this.#buf, 0);
      if (r === undefined) break;
      out.push(r[0]);
      this.#buf = this.#buf.subarray(r[1]);
    }
    return out;
  }
}

/** [value, next offset], or undefined when `buf` does not hold a whole reply yet. */
function parseValue(buf: Buffer, at: number): [RespValue, number] | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return [line, next];
    case '-':
      return [new RespError(line), next];
    case ':':
      return [integer(line), next];
    case '$': {
      const len = integer(line);
      if (len === -1) return [null, next];
      if (len < 0 || len > MAX_BULK) throw new TypeError(`RESP: bad bulk length ${line}`);
      if (buf.length < next + len + 2) return undefined;
      return [buf.toString('utf8', next, next + len), next + len + 2];
    }
    case '*': {
      const n = integer(line);
      if (n === -1) return [null, next];
      if (n < 0 || n > 1_000_000) throw new TypeError(`RESP: bad array length ${line}`);
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const r = parseValue(buf, pos);
        if (r === undefined) return undefined;
        items.push(r[0]);
        pos = r[1];
      }
      return [items, pos];
    }
    default:
      throw new TypeError(`RESP: unexpected reply type ${JSON.stringify(type)}`);
  }
}

function integer(line: string): number {
  if (!/^-?\d+$/.test(line)) throw new TypeError(`RESP: bad integer ${JSON.stringify(line)}`);
  return Number(line);
}

/**
 * `--allow-unix-dir DIR` (repeatable): the directories whose Unix sockets may be
 * dialled; none by default, so a token can never point the proxy at a local socket
 * (a Docker or libvirt control socket, say) unless an operator said so. The socket's
 * path is resolved with `realpath` first, so `..` and symlinks cannot lead out of an
 * allowed directory; the directories themselves are resolved once, at start.
 */
import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';

export type UnixCheck = { ok: true; path: string } | { ok: false; reason: string; code?: string };

/** Whether `path` lies strictly inside `dir` (both absolute and normalised). */
export function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

export class UnixDirPolicy {
  /** The directories' real paths. */
  readonly dirs: readonly string[];
  /** The directories as given and as resolved, for the check before any filesystem access. */
  readonly #spellings: readonly string[];

  /** Resolves every directory now; throws (naming it) if one does not exist. */
  constructor(dirs: readonly string[]) {
    this.dirs = dirs.map((d) => {
      if (!isAbsolute(d)) throw new RangeError(`"${d}" must be an absolute path`);
      try {
        return realpathSync(d);
      } catch (e) {
        throw new RangeError(`"${d}": ${(e as NodeJS.ErrnoException).code ?? e}`, { cause: e });
      }
    });
    this.#spellings = [...new Set([...dirs.map((d) => resolve(d)), ...this.dirs])];
  }

  /**
   * The real path to dial, or why not. A path outside every directory is refused
   * before touching the filesystem; one inside that does not resolve reports its errno.
   */
  async check(path: string): Promise<UnixCheck> {
    const lexical = resolve(path);
    const refused = { ok: false as const, reason: `${path} is not under --allow-unix-dir` };
    if (!this.#spellings.some((d) => inside(d, lexical))) return refused;
    let real: string;
    try {
      real = await realpath(lexical);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      return { ok: false, reason: `${path}: ${code}`, code };
    }
    // A symlink inside an allowed directory may point anywhere: check where it leads.
    return this.dirs.some((d) => inside(d, real)) ? { ok: true, path: real } : refused;
  }
}

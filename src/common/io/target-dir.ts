// A restore's target directory, written so that nothing below its root is ever reached
// through a symbolic link: directories are made one component at a time, each checked to
// be a real directory (those checked are remembered: a restore writes thousands of files
// into a few hundred directories), and files are opened O_NOFOLLOW. The root itself (a
// --data-dir or a tablespace location) may be a link: it is the user's. Paths are checked
// relative paths (names.ts). Never follows a link below the root, and never makes one.
//
// A link that appears below the root after its directory was checked (a local user racing
// the restore) is not caught: the threat is what a stream or an earlier run leaves.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fail, OpenbarError } from '../errors.js';
import { safeJoin } from '../names.js';

const { O_NOFOLLOW, O_DIRECT, O_WRONLY, O_CREAT, O_TRUNC } = fs.constants;

export class TargetDir {
  /** directories below the root checked to be real ones, by relative path ('' the root) */
  private readonly known = new Set<string>(['']);

  private constructor(readonly root: string) {}

  /** The root, made when missing (as a plain `mkdir -p`: the root and what is above it are the user's). */
  static open(root: string): TargetDir {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    return new TargetDir(path.resolve(root));
  }

  /** The directory `rel` below this one as a root of its own, checked (and made) like any directory. */
  sub(rel: string): TargetDir {
    this.dir(rel);
    return new TargetDir(this.path(rel));
  }

  path(rel: string): string {
    return safeJoin(this.root, rel);
  }

  /**
   * Makes directory `rel` and every one above it below the root that is missing (`mode`
   * for `rel` itself, 0700 for the others); fails where one is a link or not a directory.
   * Synchronous: parts restored at once never see a directory half made.
   */
  dir(rel: string, mode = 0o700): void {
    if (this.known.has(rel)) return;
    this.dir(parentOf(rel));
    const abs = this.path(rel);
    try {
      fs.mkdirSync(abs, { mode: mode & 0o777 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = fs.lstatSync(abs);
      if (st.isSymbolicLink()) throw inTheWay(abs);
      if (!st.isDirectory())
        fail(
          'CONFLICT',
          `${abs} is in the way of a directory the restore makes`,
          'remove it, or restore into an empty directory (without --restart)',
        );
    }
    this.known.add(rel);
  }

  /** File `rel` opened with `flags` (its directory made as by dir()); a link in its place fails, never followed. */
  openSync(rel: string, flags: number, mode = 0o600): number {
    this.dir(parentOf(rel));
    try {
      return fs.openSync(this.path(rel), flags | O_NOFOLLOW, mode);
    } catch (err) {
      throw refused(err, this.path(rel));
    }
  }

  async open(rel: string, flags: number, mode = 0o600): Promise<fsp.FileHandle> {
    this.dir(parentOf(rel));
    try {
      return await fsp.open(this.path(rel), flags | O_NOFOLLOW, mode);
    } catch (err) {
      throw refused(err, this.path(rel));
    }
  }

  /** An existing file `rel` for direct writes; undefined where that fails (EINVAL on tmpfs and the like): write it buffered. */
  async openDirect(rel: string): Promise<fsp.FileHandle | undefined> {
    if (O_DIRECT === undefined) return undefined;
    return fsp.open(this.path(rel), O_WRONLY | O_DIRECT | O_NOFOLLOW).catch(() => undefined);
  }

  /** The text of file `rel` when there is one; a link in its place fails. */
  readIfThere(rel: string): string | undefined {
    let fd: number;
    try {
      fd = this.openSync(rel, fs.constants.O_RDONLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Writes file `rel` whole (made or emptied first), never through a link. */
  writeFile(rel: string, content: string | Buffer, mode = 0o600): void {
    const fd = this.openSync(rel, O_WRONLY | O_CREAT | O_TRUNC, mode);
    try {
      fs.writeFileSync(fd, content);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

function inTheWay(abs: string): OpenbarError {
  return new OpenbarError(
    'CONFLICT',
    `${abs} is a symbolic link: a restore never writes through one`,
    'remove it, or restore into an empty directory (without --restart)',
  );
}

/** O_NOFOLLOW on a link fails with ELOOP: said as what it is. */
function refused(err: unknown, abs: string): unknown {
  return (err as NodeJS.ErrnoException).code === 'ELOOP' ? inTheWay(abs) : err;
}

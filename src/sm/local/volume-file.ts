// Opening volume files on a local-directory device. Every open checks the label
// (invariant 8): a volume of another storage manager or pool, or one whose label does
// not match the catalog, is refused and never appended to or overwritten. Volumes are
// private: 0600 while open, 0400 once closed, in 0700 directories.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fail } from '../../common/errors.js';
import { fsyncDir } from '../../common/durable-fs.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, READ_ONLY_FILE_MODE } from '../../common/private-modes.js';
import { relativeHint } from './local-context.js';
import { decodeLabel, encodeLabel, LABEL_SIZE, type VolumeLabel } from './volume-format.js';

export interface LabelExpectation {
  readonly smId: string;
  readonly pool: string;
  readonly label: string;
}

/** Called before a tail past the committed size is cut: throws when it is not a crashed writer's leftovers. */
export type TailCheck = (fd: number, committedSize: number, size: number) => void;

export async function createVolumeFile(file: string, label: VolumeLabel): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  const open = () => fsp.open(file, 'wx', PRIVATE_FILE_MODE);
  const fh = await open().catch(async (err: NodeJS.ErrnoException) => {
    // a torn label left by a crash while labelling (and forgotten by a catalog rebuild) holds nothing
    if (err.code === 'EEXIST' && (await unlabelledStub(file))) return open();
    if (err.code === 'EEXIST')
      fail(
        'LABEL_MISMATCH',
        `volume file ${file} already exists; refusing to overwrite it`,
        'run `openbar sm scan` to see what it holds',
      );
    throw err;
  });
  try {
    await fh.write(encodeLabel(label), 0, LABEL_SIZE, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(path.dirname(file));
}

/**
 * True when `file` is missing, or is no more than a torn label block: what a crash
 * between labelling a volume in the catalog and writing its label leaves. Such a file
 * holds nothing and may be labelled again; anything with a readable label may not.
 */
export async function unlabelledStub(file: string): Promise<boolean> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  try {
    const { size } = await fh.stat();
    if (size > LABEL_SIZE) return false;
    const block = Buffer.alloc(LABEL_SIZE);
    const { bytesRead } = await fh.read(block, 0, LABEL_SIZE, 0);
    if (!('error' in decodeLabel(block.subarray(0, bytesRead)))) return false;
  } finally {
    await fh.close();
  }
  await fsp.unlink(file);
  return true;
}

export async function readLabel(fh: fsp.FileHandle, file: string): Promise<VolumeLabel> {
  const block = Buffer.alloc(LABEL_SIZE);
  const { bytesRead } = await fh.read(block, 0, LABEL_SIZE, 0);
  const label = decodeLabel(block.subarray(0, bytesRead));
  if ('error' in label) fail('LABEL_MISMATCH', `${file}: ${label.error}`);
  return label;
}

export function checkLabel(label: VolumeLabel, expect: LabelExpectation, file: string): void {
  if (label.smId !== expect.smId) {
    fail(
      'LABEL_MISMATCH',
      `volume ${label.label} (${file}) belongs to another storage manager (${label.smId})`,
      'it is never written to; move it away or scan it with its own home',
    );
  }
  if (label.pool !== expect.pool)
    fail('LABEL_MISMATCH', `volume ${label.label} (${file}) is labelled for pool ${label.pool}, not ${expect.pool}`);
  if (label.label !== expect.label)
    fail('LABEL_MISMATCH', `${file} is labelled ${label.label}, the catalog expects ${expect.label}`);
}

export function openVolumeForRead(file: string, expect: LabelExpectation): Promise<fsp.FileHandle> {
  return openLabelled(file, expect, 'r');
}

/** Opens a volume and checks its label says it is the one expected. */
async function openLabelled(file: string, expect: LabelExpectation, flags: 'r' | 'r+'): Promise<fsp.FileHandle> {
  if (!path.isAbsolute(file))
    fail('CONFIG', `volume ${expect.label} has the relative path '${file}' in the catalog`, relativeHint);
  const fh = await fsp.open(file, flags).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT')
      fail(
        'IO',
        `volume ${expect.label} is missing: ${file}`,
        'restore the file, or run `openbar sm scan --rebuild` to drop what it held from the catalog',
      );
    throw err;
  });
  try {
    checkLabel(await readLabel(fh, file), expect, file);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Opens a volume to append after its committed size. Bytes past that size are the
 * torn or uncommitted tail of a crashed writer: they are cut off (and reported).
 */
export async function openVolumeForAppend(
  file: string,
  expect: LabelExpectation,
  committedSize: number,
  checkTail?: TailCheck,
): Promise<{ fh: fsp.FileHandle; tornBytes: number }> {
  const fh = await openLabelled(file, expect, 'r+');
  try {
    const { size } = await fh.stat();
    if (size < committedSize) {
      fail(
        'TRUNCATED',
        `volume ${expect.label} (${file}) is ${size} bytes, shorter than its ${committedSize} committed bytes`,
        'it is damaged: run `openbar sm scan` to see what is still readable',
      );
    }
    const tornBytes = size - committedSize;
    if (tornBytes > 0) {
      checkTail?.(fh.fd, committedSize, size);
      await fh.truncate(committedSize);
      await fh.sync();
    }
    return { fh, tornBytes };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** A closed volume is immutable: its permission bits say so too. */
export function markReadOnly(file: string): void {
  try {
    fs.chmodSync(file, READ_ONLY_FILE_MODE);
  } catch {
    /* advisory */
  }
}

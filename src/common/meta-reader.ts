// Reading back a record openbar stored as JSON (a save set's meta, a label's content):
// the one helper every record's decoder uses, so that each field is checked before it is
// believed (invariant 10), a failure names the record and the field, and a record a newer
// openbar wrote is refused as such, never met as damage nor half read. It knows no record:
// each record's module (bar/records/, sm/local/bootstrap-meta.ts) says what its fields are.

import { fail, OpenbarError } from './errors.js';

/** The field a save set's meta carries its version in; metas written before it existed have none and are version 1. */
export const META_VERSION_FIELD = 'metaVersion';

/** A record written by a newer openbar than this one (code FORMAT): said so, not taken for damage. */
export class NewerRecordError extends OpenbarError {
  constructor(
    what: string,
    readonly version: number,
    readonly known: number,
  ) {
    super(
      'FORMAT',
      `${what} was written by a newer openbar (version ${version} of its format; this openbar reads version ${known})`,
      'upgrade openbar to read it',
    );
  }
}

export function isNewerRecord(err: unknown): err is NewerRecordError {
  return err instanceof NewerRecordError;
}

/** `v` as a record shows it in a message: short, and never more than a line. */
export function shown(v: unknown): string {
  const text = v === undefined ? 'missing' : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * The fields of one JSON object, each read with its check; `bad` fails naming the record
 * (it gets what is wrong, e.g. `its size is -1`). Optional readers take an absent field
 * as undefined; one that is there must be valid.
 */
export class FieldReader {
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(
    o: unknown,
    readonly bad: (why: string) => never,
  ) {
    this.fields =
      typeof o === 'object' && o !== null && !Array.isArray(o)
        ? (o as Record<string, unknown>)
        : bad(`it is ${shown(o)}, not an object`);
  }

  has(k: string): boolean {
    return this.fields[k] !== undefined;
  }

  /** Fails naming field `k` and its value; `why` says what it should be. */
  wrong(k: string, why?: string): never {
    return this.bad(`its ${k} is ${shown(this.fields[k])}${why ? ` (${why})` : ''}`);
  }

  text(k: string, re?: RegExp): string {
    const v = this.fields[k];
    return typeof v === 'string' && v.length > 0 && (!re || re.test(v)) ? v : this.wrong(k);
  }

  optText(k: string, re?: RegExp): string | undefined {
    return this.has(k) ? this.text(k, re) : undefined;
  }

  /** A safe integer of at least `min` (and at most `max`). */
  int(k: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.fields[k];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? v : this.wrong(k);
  }

  optInt(k: string, min: number, max?: number): number | undefined {
    return this.has(k) ? this.int(k, min, max) : undefined;
  }

  /** Field `k` as `read` reads it, null when it is null, undefined when it is absent. */
  optNullable<T>(k: string, read: (k: string) => T): T | null | undefined {
    return this.fields[k] === null ? null : this.has(k) ? read(k) : undefined;
  }

  bool(k: string): boolean {
    const v = this.fields[k];
    return typeof v === 'boolean' ? v : this.wrong(k);
  }

  optBool(k: string): boolean | undefined {
    return this.has(k) ? this.bool(k) : undefined;
  }

  oneOf<T extends string>(k: string, values: readonly T[]): T {
    const v = this.fields[k];
    const known = (x: unknown): x is T => values.some((w) => w === x);
    return known(v) ? v : this.wrong(k, `one of ${values.join(', ')}`);
  }

  /** An array, each element read by `each` (which fails naming it). */
  list<T>(k: string, each: (v: unknown, i: number) => T): T[] {
    const v = this.fields[k];
    return Array.isArray(v) ? v.map(each) : this.wrong(k);
  }

  /**
   * The version of the record's format: field `k`, 1 when absent (written before records
   * carried one). Newer than `known` fails with NewerRecordError naming `what`.
   */
  version(k: string, known: number, what: string): number {
    const v = this.has(k) ? this.int(k, 1) : 1;
    if (v > known) throw new NewerRecordError(what, v, known);
    return v;
  }
}

/** What a decoder of a save set's meta needs of the save set (the storage manager's SaveSetInfo has it). */
export interface StoredMeta {
  readonly id: number;
  readonly kind: string;
  readonly name: string;
  readonly meta: Readonly<Record<string, unknown>>;
}

/**
 * A reader of save set `s`'s meta, once its kind is `kind` and its meta version known
 * (at most `known`); `what` names the record in messages (`WAL save set 12 (00000001…)`).
 * `bad` replaces the default failure (FORMAT, naming the save set) where a reader words it.
 */
export function metaReader(
  s: StoredMeta,
  kind: string,
  known: number,
  what: string,
  bad?: (why: string) => never,
): FieldReader {
  const fail1 = bad ?? ((why: string): never => fail('FORMAT', `${what}: ${why}`));
  if (s.kind !== kind) fail1(`it is a save set of kind '${s.kind}'`);
  const r = new FieldReader(s.meta, fail1);
  r.version(META_VERSION_FIELD, known, what);
  return r;
}

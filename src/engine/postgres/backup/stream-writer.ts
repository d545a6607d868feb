// The space stream of one copy as it goes into its sink, for every level: the header,
// each file's entry and bytes, and the trailer (framed by format/space-stream.ts), with
// the trailer's figures counted on the way: files, bytes, bad pages, and the pages taken
// from WAL images. The only writer of a copy's stream; it reads no file and judges no page.

import type { BadPage, ByteSink, SpaceFile, SpaceInfo, SpaceReadOptions } from '../../engine.js';
import { encodeEntry, encodeHeader, encodeTrailer, type FileEntry } from '../format/space-stream.js';
import { isoTime } from '../../../common/units.js';
import { PAGE_SIZE } from '../format/page-size.js';

const mod = (a: number, m: number): number => ((a % m) + m) % m;

/** What a copy wrote, as its trailer says it (and the pages WAL images gave). */
export interface CopyCounts {
  readonly files: number;
  readonly bytes: number;
  readonly badPages: number;
  readonly imagePages: number;
}

export class SpaceStreamWriter {
  private files = 0;
  private bytes = 0;
  private badPages = 0;
  private imagePages = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly opts: SpaceReadOptions,
  ) {}

  /** The stream header of a copy of `space`; a level 1 or 2 names its base's start. */
  header(space: SpaceInfo): Promise<void> {
    const o = this.opts;
    const baseLsn = o.incremental?.baseLsn;
    return this.sink.write(
      encodeHeader({
        space: space.name,
        server: o.server,
        systemId: o.systemId,
        level: o.level,
        part: o.part,
        parts: o.parts,
        startLsn: o.startLsn,
        pageSize: PAGE_SIZE,
        created: isoTime(),
        ...(baseLsn !== undefined ? { baseLsn } : {}),
      }),
    );
  }

  /** Whether an entry can be padded so that its file's bytes land page-aligned (for direct reads). */
  get alignable(): boolean {
    return this.sink.gapToAligned?.(PAGE_SIZE) !== undefined;
  }

  /**
   * A file's entry; `aligned`: padded so that the bytes that follow start page-aligned in
   * the sink's buffer, where a direct read may fill them.
   */
  entry(e: FileEntry, aligned = false): Promise<void> {
    const natural = encodeEntry(e);
    const gap = aligned ? this.sink.gapToAligned?.(PAGE_SIZE) : undefined;
    return this.sink.write(
      gap === undefined ? natural : encodeEntry(e, natural.length + mod(gap - natural.length, PAGE_SIZE)),
    );
  }

  /** The entry of a directory or a symbolic link: no bytes follow it. */
  entryWithoutData(f: SpaceFile): Promise<void> {
    return this.entry({
      path: f.path,
      type: f.type,
      mode: f.mode,
      mtimeMs: f.mtimeMs,
      size: 0,
      ...(f.target ? { target: f.target } : {}),
    });
  }

  /** File bytes, copied into the sink's buffers. */
  async data(chunk: Uint8Array): Promise<void> {
    await this.sink.write(chunk);
    this.bytes += chunk.byteLength;
  }

  /** File bytes put straight into the sink's buffer by `fill` (ByteSink.pour). */
  async pour(fill: (room: Buffer) => Promise<number>): Promise<number> {
    const n = await this.sink.pour(fill);
    this.bytes += n;
    return n;
  }

  /** Whether fills may go ahead of their arrival (several reads in flight). */
  get canPourAhead(): boolean {
    return this.sink.pourAhead !== undefined;
  }

  /** File bytes whose arrival the writer need not wait for (ByteSink.pourAhead); 0 when it cannot. */
  async pourAhead(fill: (room: Buffer) => { bytes: number; arrived: Promise<void> }): Promise<number> {
    const n = this.sink.pourAhead ? await this.sink.pourAhead(fill) : 0;
    this.bytes += n;
    return n;
  }

  /** One more file (or piece of one) handled by this copy, whether or not it wrote an entry. */
  countFile(): void {
    this.files++;
  }

  /** A page that failed its check twice: counted and reported. */
  badPage(p: BadPage): void {
    this.badPages++;
    this.opts.onBadPage(p);
  }

  /** Pages restored from the WAL's full-page images instead of read. */
  imagesUsed(n: number): void {
    this.imagePages += n;
  }

  /** The trailer, once every read has landed; then the image pages are reported. */
  async finish(): Promise<CopyCounts> {
    await this.sink.write(encodeTrailer({ files: this.files, bytes: this.bytes, badPages: this.badPages }));
    if (this.imagePages > 0) this.opts.onImagePages?.(this.imagePages);
    return { files: this.files, bytes: this.bytes, badPages: this.badPages, imagePages: this.imagePages };
  }
}

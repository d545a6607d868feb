import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { restoreChainStreams } from './chain-restorer.js';
import { spaceStream, type StreamItem } from './test-streams.js';
import type { RestoreLevel } from '../../engine.js';
import { postgresOffline } from '../offline-engine.js';
import { encodeHeader, type FileEntry } from '../format/space-stream.js';

const PAGE = 8192;
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'openbar-chain-'));
  dirs.push(d);
  return d;
};

/** A page that says which level wrote it and which block it is. */
const page = (level: number, block: number) => {
  const b = Buffer.alloc(PAGE, 0x40 + level);
  b.writeUInt32LE(block, 100);
  return b;
};
const pages = (level: number, blocks: readonly number[]) => Buffer.concat(blocks.map((b) => page(level, b)));

type Item = StreamItem;
const file = (p: string, size: number, extra: Partial<FileEntry> = {}): FileEntry => ({
  path: p,
  type: 'file',
  mode: 0o600,
  mtimeMs: 0,
  size,
  ...extra,
});

/** A space stream of `items`, handed out in odd-sized chunks so pages straddle chunk boundaries. */
function stream(level: number, items: readonly Item[], chunk = 3001): () => AsyncIterable<Buffer> {
  return spaceStream('pg_default', level, items, chunk);
}

/** Which level wrote each page of a restored file ('-' for a hole). */
function levelsOf(f: string): string {
  const b = fs.readFileSync(f);
  let out = '';
  for (let p = 0; p < b.length; p += PAGE) {
    const x = b[p]!;
    assert.equal(b.readUInt32LE(p + 100) === p / PAGE || x === 0, true, `${f} page ${p / PAGE} is at the wrong place`);
    out += x === 0 ? '-' : String(x - 0x40);
  }
  return out;
}

describe('chain restore (newest level first)', () => {
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('writes each page from the newest level that has it, never overwritten by an older one', async () => {
    const root = tmp();
    const levels: RestoreLevel[] = [
      { level: 2, parts: [stream(2, [{ entry: file('5/100', 4 * PAGE, { pages: [1] }), data: pages(2, [1]) }])] },
      { level: 1, parts: [stream(1, [{ entry: file('5/100', 4 * PAGE, { pages: [1, 2] }), data: pages(1, [1, 2]) }])] },
      { level: 0, parts: [stream(0, [{ entry: file('5/100', 4 * PAGE), data: pages(0, [0, 1, 2, 3]) }])] },
    ];
    const r = await restoreChainStreams(levels, root);
    assert.equal(levelsOf(path.join(root, '5/100')), '0210');
    assert.equal(r.written, 4 * PAGE, 'each page written once');
    assert.equal(r.bytes, 7 * PAGE);
  });

  it('leaves out a file dropped since the level 0, and its directory', async () => {
    const root = tmp();
    await restoreChainStreams(
      [
        {
          level: 1,
          parts: [
            stream(1, [
              { entry: { path: '5', type: 'dir', mode: 0o700, mtimeMs: 0, size: 0 } },
              { entry: file('5/100', PAGE, { pages: [] }) },
            ]),
          ],
        },
        {
          level: 0,
          parts: [
            stream(0, [
              { entry: { path: '5', type: 'dir', mode: 0o700, mtimeMs: 0, size: 0 } },
              { entry: { path: '6', type: 'dir', mode: 0o700, mtimeMs: 0, size: 0 } },
              { entry: file('5/100', PAGE), data: pages(0, [0]) },
              { entry: file('5/200', 2 * PAGE), data: pages(0, [0, 1]) },
              { entry: file('6/300', PAGE), data: pages(0, [0]) },
            ]),
          ],
        },
      ],
      root,
    );
    assert.deepEqual(fs.readdirSync(root).sort(), ['5']);
    assert.deepEqual(fs.readdirSync(path.join(root, '5')), ['100']);
    assert.equal(levelsOf(path.join(root, '5/100')), '0');
  });

  it('restores a file truncated since the level 0 at its smaller size, and one extended at its larger size', async () => {
    const root = tmp();
    await restoreChainStreams(
      [
        {
          level: 1,
          parts: [
            stream(1, [
              { entry: file('5/100', 3 * PAGE, { pages: [] }) },
              { entry: file('5/200', 5 * PAGE, { pages: [1, 3, 4] }), data: pages(1, [1, 3, 4]) },
            ]),
          ],
        },
        {
          level: 0,
          parts: [
            stream(0, [
              { entry: file('5/100', 6 * PAGE), data: pages(0, [0, 1, 2, 3, 4, 5]) },
              { entry: file('5/200', 2 * PAGE), data: pages(0, [0, 1]) },
            ]),
          ],
        },
      ],
      root,
    );
    assert.equal(levelsOf(path.join(root, '5/100')), '000');
    assert.equal(fs.statSync(path.join(root, '5/100')).size, 3 * PAGE);
    // page 2 is in no level (a gap verify reports): a hole
    assert.equal(levelsOf(path.join(root, '5/200')), '01-11');
  });

  it('keeps the newest whole non-relation file over the level 0 one', async () => {
    const root = tmp();
    await restoreChainStreams(
      [
        {
          level: 1,
          parts: [
            stream(1, [
              { entry: file('postgresql.conf', 3), data: Buffer.from('new') },
              { entry: file('pg_xact/0000', 4), data: Buffer.from('xact') },
            ]),
          ],
        },
        {
          level: 0,
          parts: [
            stream(
              0,
              [
                { entry: file('postgresql.conf', 12), data: Buffer.from('old contents') },
                { entry: file('pg_xact/0000', 2), data: Buffer.from('xx') },
                { entry: file('pg_xact/0001', 2), data: Buffer.from('gone') },
              ].map((i) => ({ ...i, data: i.data.subarray(0, i.entry.size) })),
            ),
          ],
        },
      ],
      root,
    );
    assert.equal(fs.readFileSync(path.join(root, 'postgresql.conf'), 'utf8'), 'new');
    assert.equal(fs.readFileSync(path.join(root, 'pg_xact/0000'), 'utf8'), 'xact');
    assert.equal(fs.existsSync(path.join(root, 'pg_xact/0001')), false);
  });

  it('takes several entries for one file in one stream, and parts of a level in parallel', async () => {
    const root = tmp();
    await restoreChainStreams(
      [
        {
          level: 1,
          parts: [
            stream(
              1,
              [
                { entry: file('5/100', 6 * PAGE, { pages: [0, 1] }), data: pages(1, [0, 1]) },
                { entry: file('5/300', PAGE, { pages: [] }) },
                { entry: file('5/100', 6 * PAGE, { pages: [4] }), data: pages(1, [4]) },
              ],
              5000,
            ),
            stream(
              1,
              [
                { entry: file('5/200', 2 * PAGE, { pages: [1] }), data: pages(1, [1]) },
                { entry: file('5/100', 6 * PAGE, { pages: [5] }), data: pages(1, [5]) },
              ],
              777,
            ),
          ],
        },
        {
          level: 0,
          parts: [
            // one file in two ranges, in two parts
            stream(0, [
              { entry: file('5/100', 6 * PAGE, { offset: 0, length: 3 * PAGE }), data: pages(0, [0, 1, 2]) },
              { entry: file('5/300', PAGE), data: pages(0, [0]) },
            ]),
            stream(
              0,
              [
                { entry: file('5/100', 6 * PAGE, { offset: 3 * PAGE, length: 3 * PAGE }), data: pages(0, [3, 4, 5]) },
                { entry: file('5/200', 2 * PAGE), data: pages(0, [0, 1]) },
              ],
              10_000,
            ),
          ],
        },
      ],
      root,
      { parallel: 2 },
    );
    assert.equal(levelsOf(path.join(root, '5/100')), '110011');
    assert.equal(levelsOf(path.join(root, '5/200')), '01');
    assert.equal(levelsOf(path.join(root, '5/300')), '0');
  });

  it('lets a level 1 whole file (a relation made after the level 0) stand under level 2 pages', async () => {
    const root = tmp();
    await restoreChainStreams(
      [
        {
          level: 2,
          parts: [stream(2, [{ entry: file('5/600', 3 * PAGE, { pages: [0, 2] }), data: pages(2, [0, 2]) }])],
        },
        { level: 1, parts: [stream(1, [{ entry: file('5/600', 2 * PAGE), data: pages(1, [0, 1]) }])] },
        { level: 0, parts: [stream(0, [{ entry: file('5/600', 4 * PAGE), data: pages(0, [0, 1, 2, 3]) }])] },
      ],
      root,
    );
    // level 1 wrote it whole: the level 0 copy (an older relation under the same name) is not used
    assert.equal(levelsOf(path.join(root, '5/600')), '212');
  });

  it('redoes a space over what an interrupted run left, to the same result', async () => {
    const root = tmp();
    fs.mkdirSync(path.join(root, '5'));
    fs.writeFileSync(path.join(root, '5/100'), Buffer.alloc(9 * PAGE, 0x7f)); // half-restored, too long
    const levels: RestoreLevel[] = [
      { level: 1, parts: [stream(1, [{ entry: file('5/100', 3 * PAGE, { pages: [1] }), data: pages(1, [1]) }])] },
      { level: 0, parts: [stream(0, [{ entry: file('5/100', 3 * PAGE), data: pages(0, [0, 1, 2]) }])] },
    ];
    await restoreChainStreams(levels, root);
    assert.equal(levelsOf(path.join(root, '5/100')), '010');
    await restoreChainStreams(levels, root);
    assert.equal(levelsOf(path.join(root, '5/100')), '010');
  });

  it('refuses a stream cut short and a path leaving the root', async () => {
    const root = tmp();
    const cut = async function* () {
      yield encodeHeader({
        space: 's',
        server: 't',
        systemId: '1',
        level: 1,
        part: 0,
        parts: 1,
        startLsn: '0/0',
        pageSize: PAGE,
        created: '',
      });
    };
    await assert.rejects(
      restoreChainStreams(
        [
          { level: 1, parts: [cut] },
          { level: 0, parts: [] },
        ],
        root,
      ),
      /ended before its trailer/,
    );
    await assert.rejects(
      restoreChainStreams(
        [{ level: 1, parts: [stream(1, [{ entry: file('../x', 1), data: Buffer.from('x') }])] }],
        root,
      ),
      /entry path "\.\.\/x": not normalised/,
    );
  });

  it('resumes at the parts an interrupted run left: finished parts not written again, the newer levels still winning', async () => {
    const root = tmp();
    const a = (level: number, entry: FileEntry, data: Buffer) => stream(level, [{ entry, data }]);
    const whole = a(0, file('5/100', 4 * PAGE), pages(0, [0, 1, 2, 3]));
    /** the level 0 part of 5/100 dies after its first page */
    const dies = async function* () {
      let n = 0;
      for await (const chunk of whole()) {
        if ((n += chunk.length) > 2 * PAGE) throw new Error('disk went away');
        yield chunk;
      }
    };
    const chain = (last: () => AsyncIterable<Buffer>): RestoreLevel[] => [
      {
        level: 2,
        parts: [
          a(2, file('5/100', 4 * PAGE, { pages: [1] }), pages(2, [1])),
          a(2, file('5/200', 2 * PAGE, { pages: [0] }), pages(2, [0])),
        ],
      },
      {
        level: 1,
        parts: [
          a(1, file('5/100', 4 * PAGE, { pages: [1, 2] }), pages(1, [1, 2])),
          a(1, file('5/200', 2 * PAGE, { pages: [1] }), pages(1, [1])),
        ],
      },
      { level: 0, parts: [a(0, file('5/200', 2 * PAGE), pages(0, [0, 1])), last] },
    ];
    const recorded: [number, number][] = [];
    await assert.rejects(
      restoreChainStreams(chain(dies), root, {
        onPartDone: (d, p) => {
          recorded.push([d, p]);
        },
      }),
      /disk went away/,
    );
    assert.deepEqual(recorded, [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [2, 0],
    ]);

    const opened: string[] = [];
    const levels = chain(whole).map((l, d) => ({
      ...l,
      parts: l.parts.map((open, p) => () => {
        opened.push(`${d}.${p}`);
        return open();
      }),
      done: l.parts.map((_, p) => recorded.some(([x, y]) => x === d && y === p)),
    }));
    const again: [number, number][] = [];
    const r = await restoreChainStreams(levels, root, {
      onPartDone: (d, p) => {
        again.push([d, p]);
      },
    });
    // the newer levels are read again for what they wrote, the finished part of the level 0 is not
    assert.deepEqual(opened.sort(), ['0.0', '0.1', '1.0', '1.1', '2.1']);
    assert.deepEqual(again, [[2, 1]]);
    assert.equal(r.bytes, 4 * PAGE, 'only the part left is counted');
    assert.equal(r.written, 2 * PAGE, 'the level 0 writes only the pages no newer level wrote');
    assert.equal(levelsOf(path.join(root, '5/100')), '0210');
    assert.equal(levelsOf(path.join(root, '5/200')), '21');

    // everything recorded: nothing to read
    opened.length = 0;
    const none = await restoreChainStreams(
      levels.map((l) => ({ ...l, done: l.parts.map(() => true) })),
      root,
    );
    assert.deepEqual([opened, none.bytes], [[], 0]);
  });

  it('redoes a part of the newest level cut short over what it left (a level 0 alone: a chain of one)', async () => {
    const root = tmp();
    const parts = [
      stream(0, [
        { entry: file('5/100', 3 * PAGE), data: pages(0, [0, 1, 2]) },
        { entry: file('PG_VERSION', 3, { mode: 0o644 }), data: Buffer.from('15\n') },
      ]),
      stream(0, [{ entry: file('5/300', 2 * PAGE), data: pages(0, [0, 1]) }]),
    ];
    fs.mkdirSync(path.join(root, '5'));
    fs.writeFileSync(path.join(root, '5/100'), Buffer.alloc(5 * PAGE, 0x7f)); // what a killed run left, too long
    const r = await restoreChainStreams([{ level: 0, parts, done: [false, true] }], root);
    assert.equal(levelsOf(path.join(root, '5/100')), '000');
    assert.equal(fs.statSync(path.join(root, 'PG_VERSION')).mode & 0o777, 0o644);
    assert.equal(fs.existsSync(path.join(root, '5/300')), false, 'the finished part is not read');
    assert.equal(r.written, 3 * PAGE + 3);
  });

  it('withholds pg_control under its pending name (the engine method)', async () => {
    const root = tmp();
    await postgresOffline.restoreChain(
      [
        {
          level: 1,
          parts: [
            stream(1, [
              { entry: { path: 'global', type: 'dir', mode: 0o700, mtimeMs: 0, size: 0 } },
              { entry: file('global/pg_control', 5), data: Buffer.from('newer') },
            ]),
          ],
        },
        { level: 0, parts: [stream(0, [{ entry: file('global/pg_control', 5), data: Buffer.from('older') }])] },
      ],
      root,
      {},
    );
    assert.equal(fs.existsSync(path.join(root, 'global/pg_control')), false);
    assert.equal(fs.readFileSync(path.join(root, 'global/pg_control.openbar-restoring'), 'utf8'), 'newer');
  });
});

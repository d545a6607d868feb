// A thread that collects the WAL's block references for a level 1 or 2 backup, so the
// WAL is parsed while the server starts backup mode and the files are listed. Messages
// come in order: start, piece…, end, finish. A segment arrives in pieces (the records of
// its save set, in the sender's shared transfer buffers: copied here at once) and is read
// as they come; each piece is answered, once read, with whether reading is over and the
// LSN the reader needs next, so the sender stops fetching a segment the reader has left
// (the rest of a switched segment).

import { parentPort } from 'node:worker_threads';
import { BlockRefCollector } from './block-ref-collector.js';

export type WalWorkerRequest =
  | { type: 'start'; startLsn: bigint; sysid: bigint; segmentSize: number }
  | { type: 'piece'; segno: number; offset: number; data: Uint8Array }
  | { type: 'end'; endLsn: bigint }
  | { type: 'finish' };

export type WalWorkerReply =
  | { type: 'read'; done: boolean; nextLsn: number }
  | { type: 'ended'; done: boolean; nextLsn: number }
  | { type: 'result'; result: ReturnType<BlockRefCollector['finish']> }
  | { type: 'error'; message: string };

/** Records are read up to here until the backup's own start LSN is known. */
const NO_END = BigInt(Number.MAX_SAFE_INTEGER);

let collector: BlockRefCollector | undefined;
/** the segment being put together, and how much of it has arrived */
let segment: Uint8Array | undefined;
let segno = -1;
let filled = 0;

parentPort!.on('message', (m: WalWorkerRequest) => {
  try {
    switch (m.type) {
      case 'start':
        collector = new BlockRefCollector({ startLsn: m.startLsn, endLsn: NO_END, sysid: m.sysid });
        segment = new Uint8Array(m.segmentSize);
        break;
      case 'piece': {
        const c = collector!;
        if (m.segno !== segno) { segno = m.segno; filled = 0; }
        // pieces come in order; one the reader no longer needs is only given back
        if (m.offset === filled && !c.done && filled + m.data.length <= segment!.length) {
          segment!.set(m.data, filled);
          filled += m.data.length;
          c.push(segment!, segno, filled);
        }
        reply({ type: 'read', done: c.done, nextLsn: c.nextLsn });
        break;
      }
      case 'end':
        collector!.setEnd(m.endLsn);
        reply({ type: 'ended', done: collector!.done, nextLsn: collector!.nextLsn });
        break;
      case 'finish':
        reply({ type: 'result', result: collector!.finish() });
        break;
    }
  } catch (err) {
    reply({ type: 'error', message: (err as Error).stack ?? String(err) });
  }
});

function reply(r: WalWorkerReply): void {
  parentPort!.postMessage(r);
}

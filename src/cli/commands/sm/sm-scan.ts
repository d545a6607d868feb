// `openbar sm scan [--rebuild]`: reads every volume and every record checksum; reports
// damage (exit 3), or rebuilds the catalog from the volumes alone.

import type { Command } from 'commander';
import { LABEL_SIZE } from '../../../sm/local/volume-format.js';
import { formatBytes } from '../../../common/units.js';
import { rebuildLocalCatalog } from '../../../sm/local/local-storage-manager.js';
import type { VolumeScan } from '../../../sm/local/volume-scanner.js';
import { ExitStatus } from '../../../common/errors.js';
import { action, jsonOption, subcommand, type Globals } from '../../command.js';
import { loadContext } from '../../context.js';
import { printJson, printTable } from '../../render.js';

interface ScanFinding {
  readonly volume: string;
  readonly file: string;
  readonly pool: string | null;
  readonly records: number;
  readonly saveSets: number;
  readonly bytes: number;
  readonly state: string;
  readonly damage: string[];
  readonly notes: string[];
}

export function register(sm: Command, globals: Globals): void {
  subcommand(sm, 'scan', 'read every volume and check every record; --rebuild recreates the catalog from the volumes')
    .option('--rebuild', 'replace the catalog by one rebuilt from the volumes (the old one is kept aside)')
    .option('--device <dir...>', 'also look for volumes in these directories')
    .addOption(jsonOption())
    .action(
      action(async (opts: { rebuild?: boolean; device?: string[]; json?: boolean }) => {
        const ctx = loadContext(globals());
        if (opts.rebuild) {
          const report = await rebuildLocalCatalog(ctx.localOptions(), opts.device ?? []);
          if (opts.json) return printJson(report);
          process.stdout.write(`catalog rebuilt from ${report.volumes} volume(s): ${report.saveSets} save set(s)\n`);
          for (const s of report.skippedVolumes) process.stdout.write(`skipped ${s.file}: ${s.why}\n`);
          for (const s of report.incomplete) process.stdout.write(`save set ${s.id} not restored: ${s.why}\n`);
          for (const t of report.tornTails)
            process.stdout.write(`volume ${t.label}: ${t.bytes} bytes of an interrupted write will be discarded\n`);
          return;
        }
        const sm = ctx.openStorage();
        try {
          const known = new Map((await sm.volumes()).map((v) => [v.path, v]));
          const scans = await sm.scan();
          const findings = scans.map((s) => judge(s, known.get(s.file)));
          const damaged = findings.filter((f) => f.damage.length > 0);
          for (const f of damaged) ctx.log.error(`sm scan: volume ${f.volume}: ${f.damage.join('; ')}`);
          ctx.log.info(`sm scan: ${findings.length} volume(s), ${damaged.length} damaged`);
          if (opts.json) printJson(findings);
          else {
            printTable(
              findings,
              [
                { title: 'VOLUME', value: (f) => f.volume },
                { title: 'POOL', value: (f) => f.pool },
                { title: 'STATE', value: (f) => f.state },
                { title: 'RECORDS', value: (f) => f.records, right: true },
                { title: 'SAVE SETS', value: (f) => f.saveSets, right: true },
                { title: 'SIZE', value: (f) => formatBytes(f.bytes), right: true },
                { title: 'FINDINGS', value: (f) => [...f.damage, ...f.notes].join('; ') || 'ok' },
              ],
              'no volumes',
            );
            process.stdout.write(
              damaged.length === 0
                ? `STATUS volume checks PASSED (${findings.length} volumes)\n`
                : `STATUS volume checks FAILED (${damaged.length} of ${findings.length} volumes damaged)\n`,
            );
          }
          return damaged.length > 0 ? ExitStatus.damage : ExitStatus.ok;
        } finally {
          await sm.close();
        }
      }),
    );
}

/** Damage is what a committed save set could lose; a tail past the committed size is an interrupted write. */
function judge(s: VolumeScan, catalogued: { size: number; state: string; label: string } | undefined): ScanFinding {
  const damage: string[] = [];
  const notes: string[] = [];
  const committed = catalogued?.size ?? s.committedEnd;
  // a crash between making a volume's file and writing its label leaves at most a torn
  // label block with nothing committed: the next writer labels it again
  const stub = s.labelError !== undefined && s.fileSize <= LABEL_SIZE && committed <= LABEL_SIZE;
  if (stub) {
    notes.push(`label not written yet (interrupted while labelling): labelled again when next used`);
    return {
      volume: catalogued?.label ?? s.file,
      file: s.file,
      pool: null,
      records: 0,
      saveSets: 0,
      bytes: s.fileSize,
      state: catalogued?.state ?? 'open',
      damage,
      notes,
    };
  }
  if (s.labelError) damage.push(`label unreadable: ${s.labelError}`);
  if (s.fileSize < committed) damage.push(`truncated: ${s.fileSize} bytes, ${committed} committed`);
  for (const b of s.badRecords)
    if (b.offset < committed) damage.push(`${b.error} at offset ${b.offset} (save set ${b.savesetId})`);
  if (s.stop) {
    if (s.stop.offset < committed) damage.push(`${s.stop.error} at offset ${s.stop.offset}`);
    else
      notes.push(
        `interrupted write: ${s.fileSize - s.stop.offset} bytes after offset ${s.stop.offset} will be discarded`,
      );
  } else if (s.fileSize > committed && catalogued) {
    notes.push(`uncommitted tail: ${s.fileSize - committed} bytes after offset ${committed} will be discarded`);
  }
  if (!catalogued && s.label) notes.push('not in the catalog (run `openbar sm scan --rebuild`)');
  const sets = new Set([...s.parts.values()].filter((p) => p.offset < committed).map((p) => p.id));
  return {
    volume: s.label?.label ?? s.file,
    file: s.file,
    pool: s.label?.pool ?? null,
    records: s.records,
    saveSets: sets.size,
    bytes: s.fileSize,
    state: catalogued?.state ?? (s.closed ? 'full' : 'open'),
    damage,
    notes,
  };
}

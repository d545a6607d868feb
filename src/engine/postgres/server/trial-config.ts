// The configuration a restore test starts its scratch copy with. The backed-up one is
// used when the copy has it (restore writes it into the data directory); when it is
// missing (a backup an older openbar took of a Debian-layout cluster, whose
// postgresql.conf lived in /etc) or the copy does not start with it, a minimal one is
// written in its place: enough to recover and check, and nothing that reaches outside
// the scratch directory (no port of the original, no archiving, no listening).

import fs from 'node:fs';
import path from 'node:path';
import { recoveryBlock } from '../restore/recovery-config.js';

const MINIMAL_CONF = [
  '# openbar verify --restore-test: a minimal configuration for the scratch copy',
  "listen_addresses = ''",
  'archive_mode = off',
  // off: recovery then does not compare max_connections and the like with the original's
  'hot_standby = off',
  'max_connections = 20',
  'shared_buffers = 32MB',
  'logging_collector = off',
  '',
].join('\n');
const MINIMAL_HBA = 'local all all trust\n';

/** Whether the copy in `dataDir` has a postgresql.conf of its own to start with. */
export function hasConfig(dataDir: string): boolean {
  return fs.existsSync(path.join(dataDir, 'postgresql.conf'));
}

/**
 * Writes the minimal configuration into `dataDir`: postgresql.conf (an existing one kept
 * aside as postgresql.conf.backed-up), pg_hba.conf allowing local connections, an empty
 * pg_ident.conf where there is none, and postgresql.auto.conf kept aside too, all but the
 * recovery settings the restore wrote (an ALTER SYSTEM of the original's, such as a
 * shared_preload_libraries of a missing library, would stop the copy again). The port and
 * socket come on the command line.
 */
export function writeMinimalConfig(dataDir: string): void {
  const auto = path.join(dataDir, 'postgresql.auto.conf');
  if (fs.existsSync(auto)) {
    const recovery = recoveryBlock(fs.readFileSync(auto, 'utf8'));
    fs.renameSync(auto, `${auto}.backed-up`);
    if (recovery !== undefined) fs.writeFileSync(auto, recovery, { mode: 0o600 });
  }
  const conf = path.join(dataDir, 'postgresql.conf');
  if (fs.existsSync(conf)) fs.renameSync(conf, `${conf}.backed-up`);
  fs.writeFileSync(conf, MINIMAL_CONF, { mode: 0o600 });
  const hba = path.join(dataDir, 'pg_hba.conf');
  if (fs.existsSync(hba)) fs.renameSync(hba, `${hba}.backed-up`);
  fs.writeFileSync(hba, MINIMAL_HBA, { mode: 0o600 });
  const ident = path.join(dataDir, 'pg_ident.conf');
  if (!fs.existsSync(ident)) fs.writeFileSync(ident, '', { mode: 0o600 });
}

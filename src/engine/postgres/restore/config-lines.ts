// The lines of postgresql.conf (and the files it includes) that tie a configuration to
// the cluster it was written for: where its data, hba and ident files and its extra pid
// file are, and which files it includes. The backup follows the includes; the restore
// rewrites these lines so that a restored copy uses its own files, never the original's.

import path from 'node:path';

/** A setting line `name = value` (the `=` optional), value quoted or bare; groups: name, value. */
const SETTING = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:=\s*|\s+)('(?:[^'\\]|\\.|'')*'|[^\s#']+)/;

const INCLUDES = new Set(['include', 'include_if_exists', 'include_dir']);

/** Settings naming the original cluster's own files: commented out in a restored copy (and data_directory set anew where needed). */
const TIED = new Set(['data_directory', 'hba_file', 'ident_file', 'external_pid_file']);

export const COMMENTED = '#openbar restore: ';

function unquote(v: string): string {
  return v.startsWith("'") ? v.slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, '$1') : v;
}

const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;

/** The include lines of a configuration file, in order. */
export function includeLines(text: string): { kind: string; value: string }[] {
  const out: { kind: string; value: string }[] = [];
  for (const line of text.split('\n')) {
    const m = SETTING.exec(line);
    if (m && INCLUDES.has(m[1]!.toLowerCase())) out.push({ kind: m[1]!.toLowerCase(), value: unquote(m[2]!) });
  }
  return out;
}

/**
 * A configuration file made to serve a restored copy: the settings naming the original's
 * files commented out (each said in `notes`), and include paths moved where `moved` says
 * their files now are (undefined: left as they are); a relative one is taken from
 * `fromDir`, the file's old directory, as the server took it (without, left as it is).
 */
export function rewriteConfig(
  text: string,
  file: string,
  moved: (absolute: string) => string | undefined,
  fromDir?: string,
): { text: string; notes: string[] } {
  const notes: string[] = [];
  const lines = text.split('\n').map((line) => {
    const m = SETTING.exec(line);
    if (!m) return line;
    const name = m[1]!.toLowerCase();
    if (TIED.has(name)) {
      notes.push(`${file}: ${name} = ${m[2]} commented out (it names the original cluster's file)`);
      return `${COMMENTED}${line}`;
    }
    const value = unquote(m[2]!);
    if (!INCLUDES.has(name) || value === '' || (!value.startsWith('/') && fromDir === undefined)) return line;
    const to = moved(value.startsWith('/') ? value : path.resolve(fromDir!, value));
    if (to === undefined || to === value) return line;
    notes.push(`${file}: ${name} now names ${to} (was ${value})`);
    return `${line.slice(0, m.index + m[0].length - m[2]!.length)}${quote(to)}${line.slice(m.index + m[0].length)}`;
  });
  return { text: lines.join('\n'), notes };
}

/** The lines appended to a restored postgresql.conf kept apart from its data directory. */
export function dataDirectoryLines(dataDir: string): string {
  return `\n# openbar restore: this configuration serves the copy restored into\ndata_directory = ${quote(dataDir)}\n`;
}

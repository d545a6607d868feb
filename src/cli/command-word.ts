// The command a command line asks for (`backup` in `openbar --config f backup -L 1`), and
// the shape of the command line (for the code cache of the bundle: src/cli/launch.ts).

/** The command word of `argv` (node, script, …) and the other flags given, past the global flags and their values. */
function scan(argv: readonly string[]): { word: string | undefined; flags: string[] } {
  let word: string | undefined;
  const flags: string[] = [];
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config' || a === '--set') {
      i++;
      continue;
    }
    if (a.startsWith('--config=') || a.startsWith('--set=')) continue;
    if (a.startsWith('-')) flags.push(a.replace(/=.*$/, ''));
    else word ??= a;
  }
  return { word, flags };
}

/** The first word of `argv` that is neither a flag nor a global flag's value. */
export function commandWord(argv: readonly string[]): string | undefined {
  return scan(argv).word;
}

/**
 * The command word and the names of the flags given (not their values, not the global
 * flags): `backup.L.json` for `openbar -c f backup -L 1 --json`. Letters and digits only,
 * dots between.
 */
export function commandShape(argv: readonly string[]): string {
  const { word, flags } = scan(argv);
  const name = (x: string) => x.replace(/[^a-z0-9]/gi, '');
  const names = [...new Set(flags.map(name))].filter(Boolean).sort();
  return [name(word ?? '') || 'none', ...names].join('.').slice(0, 64);
}

/**
 * Whether `argv` asks for a level 1 or 2 backup that reads the WAL (`backup -L 1`, `-L2`,
 * `--level=1`, not with `--set incremental_method=scan`): its WAL thread is worth
 * starting before the CLI has loaded (src/cli/launch.ts).
 */
export function readsWalForLevel(argv: readonly string[]): boolean {
  if (scan(argv).word !== 'backup') return false;
  let level: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    const set = a === '--set' ? argv[i + 1] : a.startsWith('--set=') ? a.slice(6) : undefined;
    if (set !== undefined && /^incremental_method\s*=\s*scan\s*$/.test(set)) return false;
    if (a === '-L' || a === '--level') level = argv[i + 1];
    else if (a.startsWith('--level=')) level = a.slice(8);
    else if (/^-L\d$/.test(a)) level = a.slice(2);
  }
  return level === '1' || level === '2';
}

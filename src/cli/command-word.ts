// The command a command line asks for (`backup` in `openbar --config f backup -L 1`), and
// the shape of the command line (for the code cache of the bundle: src/cli/launch.ts).

/** The first word of `argv` (node, script, …) that is neither a flag nor a global flag's value. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config' || a === '--set') { i++; continue; }
    if (a.startsWith('-')) continue;
    return a;
  }
  return undefined;
}

/**
 * The command word and the names of the flags given (not their values, not the global
 * flags): `backup.L.json` for `openbar -c f backup -L 1 --json`. Letters and digits only,
 * dots between.
 */
export function commandShape(argv: readonly string[]): string {
  const flags = new Set<string>();
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config' || a === '--set') { i++; continue; }
    if (a.startsWith('-') && !a.startsWith('--config=') && !a.startsWith('--set=')) flags.add(a.replace(/=.*$/, '').replace(/[^a-z0-9]/gi, ''));
  }
  const word = (commandWord(argv) ?? '').replace(/[^a-z0-9]/gi, '') || 'none';
  return [word, ...[...flags].filter(Boolean).sort()].join('.').slice(0, 64);
}

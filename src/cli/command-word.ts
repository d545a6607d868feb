// The command a command line asks for (`backup` in `openbar --config f backup -L 1`).

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

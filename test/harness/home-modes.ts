// What of a home is not private: the modes openbar promises (directories 0700, files
// 0600, a closed volume 0400), checked path by path.

import fs from 'node:fs';
import path from 'node:path';

/** Every path under `dir` (itself included) whose mode is not the private one, with its mode. */
export function notPrivate(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    const mode = st.mode & 0o777;
    if (st.isDirectory()) {
      if (mode !== 0o700) out.push(`${p} ${mode.toString(8)}`);
      for (const n of fs.readdirSync(p)) walk(path.join(p, n));
    } else if (mode !== 0o600 && !(mode === 0o400 && p.endsWith('.vol'))) {
      out.push(`${p} ${mode.toString(8)}`);
    }
  };
  walk(dir);
  return out;
}

// Which config file a command reads: --config, else $OPENBAR_CONFIG, else the system-wide
// /etc/openbar/openbar.conf when it exists, so that a DBA need not type --config each time.

import fs from 'node:fs';
import path from 'node:path';

export const DEFAULT_CONFIG = '/etc/openbar/openbar.conf';

/** The config file to read, absolute; undefined when none is given and the default does not exist. */
export function configFileOf(
  flags: { readonly config?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
  exists: (file: string) => boolean = fs.existsSync,
): string | undefined {
  const given = flags.config ?? env.OPENBAR_CONFIG;
  if (given !== undefined && given !== '') return path.resolve(given);
  return exists(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined;
}

/** What to say when no config file was found and the settings lack `home`. */
export const NO_CONFIG = {
  message: `no config file: none given with --config or OPENBAR_CONFIG, and ${DEFAULT_CONFIG} does not exist`,
  hint: `create one with \`openbar --config ${DEFAULT_CONFIG} init --home DIR --pg-data DIR\`, or give --config FILE`,
};

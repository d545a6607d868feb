// Reads settings from the config file (`key = value`, `#` comments), then
// OPENBAR_<KEY> environment variables, then `--set key=value` flags; each later
// source wins. Every value is validated; a bad key or value is one line naming it.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from './errors.js';
import { isOptionName, optionNames, optionTable, type OptionName, type Parser, type Settings } from './options.js';

export interface ConfigSources {
  readonly file?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly overrides?: Readonly<Record<string, string>>;
}

/**
 * Environment variables that are not settings: the launcher's code cache, debugging and
 * fault injection, and every OPENBAR_TEST_* of the test suites (a server started by a
 * test passes its environment on to the archive_command it runs).
 */
const reservedEnv = new Set([
  'OPENBAR_CODE_CACHE',
  'OPENBAR_CONFIG',
  'OPENBAR_DEBUG',
  'OPENBAR_FAULT',
  'OPENBAR_TRACE',
]);
const isReservedEnv = (name: string) => reservedEnv.has(name) || name.startsWith('OPENBAR_TEST_');

interface RawValue {
  text: string;
  where: string;
}

export function parseConfigText(text: string, where: string): Map<OptionName, RawValue> {
  const out = new Map<OptionName, RawValue>();
  text.split(/\r?\n/).forEach((line, i) => {
    const at = `${where} line ${i + 1}`;
    const stripped = line.replace(/^\s+|\s+$/g, '');
    if (stripped === '' || stripped.startsWith('#')) return;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(stripped);
    if (!m) fail('CONFIG', `${at}: expected 'key = value'`);
    const key = m[1]!.toLowerCase();
    if (!isOptionName(key)) fail('CONFIG', `${at}: unknown key '${m[1]}'`, `known keys: ${optionNames.join(', ')}`);
    out.set(key, { text: unquote(m[2]!.replace(/\s+#.*$/, '')), where: at });
  });
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && ((t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"'))))
    return t.slice(1, -1);
  return t;
}

export function loadSettings(sources: ConfigSources): Settings {
  const raw = new Map<OptionName, RawValue>();
  if (sources.file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(sources.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT')
        fail(
          'CONFIG',
          `config file ${sources.file} does not exist`,
          'create it with `openbar init` or fix --config / OPENBAR_CONFIG',
        );
      fail('CONFIG', `cannot read config file ${sources.file}: ${(err as Error).message}`);
    }
    for (const [k, v] of parseConfigText(text, sources.file)) raw.set(k, v);
  }
  for (const [name, value] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith('OPENBAR_') || isReservedEnv(name) || value === undefined) continue;
    const key = name.slice('OPENBAR_'.length).toLowerCase();
    if (!isOptionName(key))
      fail('CONFIG', `environment ${name}: unknown setting '${key}'`, `known keys: ${optionNames.join(', ')}`);
    raw.set(key, { text: value, where: `environment ${name}` });
  }
  for (const [key, value] of Object.entries(sources.overrides ?? {})) {
    if (!isOptionName(key))
      fail('CONFIG', `--set ${key}: unknown key '${key}'`, `known keys: ${optionNames.join(', ')}`);
    raw.set(key, { text: value, where: `--set ${key}` });
  }
  const settings: Record<string, unknown> = {};
  for (const name of optionNames) {
    const option = optionTable[name];
    const given = raw.get(name);
    const text = given?.text ?? option.def;
    if (text === undefined) {
      settings[name] = undefined;
      continue;
    }
    const result = (option.parse as Parser<unknown>)(text);
    if (!result.ok) fail('CONFIG', `${given?.where ?? 'default'}: ${name}: ${result.error}`);
    settings[name] = result.value;
  }
  if (typeof settings.home === 'string' && sources.file !== undefined) {
    settings.home = path.resolve(path.dirname(sources.file), settings.home);
  } else if (typeof settings.home === 'string') {
    settings.home = path.resolve(settings.home);
  }
  return Object.freeze(settings) as Settings;
}

/** The text of a config file for `openbar init`: the given keys, then every other key commented with its help. */
export function renderConfigFile(values: Partial<Record<OptionName, string>>): string {
  const lines = ['# openbar configuration (key = value). `openbar config --describe` describes every key.', ''];
  for (const name of optionNames) {
    const option = optionTable[name];
    const v = values[name];
    lines.push(`# ${option.help}`);
    if (v !== undefined) lines.push(`${name} = ${quoteIfNeeded(v)}`);
    else lines.push(`#${name} = ${option.def ?? ''}`);
    lines.push('');
  }
  return lines.join('\n');
}

function quoteIfNeeded(v: string): string {
  return /[\s#'"]/.test(v) ? `'${v}'` : v;
}

export function requireSetting<K extends OptionName>(settings: Settings, key: K): NonNullable<Settings[K]> {
  const v = settings[key];
  if (v === undefined || v === null) {
    fail(
      'CONFIG',
      `setting '${key}' is not set`,
      `add '${key} = ...' to the config file, or set OPENBAR_${key.toUpperCase()}`,
    );
  }
  return v as NonNullable<Settings[K]>;
}

// Validation of names that come from outside (pools, servers, object names) and of
// relative paths inside streams. A name never contains a path separator or `..`, so it
// can be used as a file name; a relative path can never escape its directory.

import path from 'node:path';
import { fail } from './errors.js';

const namePattern = /^[A-Za-z0-9_][A-Za-z0-9_.:@+=-]{0,127}$/;

export function checkName(kind: string, name: string): string {
  if (typeof name !== 'string' || name.length === 0) fail('BAD_NAME', `${kind} name is empty`);
  if (name.includes('/') || name.includes('\\')) fail('BAD_NAME', `${kind} name '${name}' contains a path separator`);
  if (name.includes('..')) fail('BAD_NAME', `${kind} name '${name}' contains '..'`);
  if (!namePattern.test(name)) {
    fail('BAD_NAME', `${kind} name '${name}' is not valid`, 'use up to 128 letters, digits and _ . : @ + = -, starting with a letter, digit or _');
  }
  return name;
}

/** A relative path from a stream, checked never to leave the directory it is joined to. */
export function safeJoin(root: string, relative: string): string {
  if (relative.length === 0 || path.isAbsolute(relative) || relative.includes('\0')) {
    fail('FORMAT', `unsafe path '${relative}' in stream`);
  }
  const joined = path.resolve(root, relative);
  const base = path.resolve(root);
  if (joined !== base && !joined.startsWith(base + path.sep)) fail('FORMAT', `path '${relative}' escapes ${root}`);
  return joined;
}

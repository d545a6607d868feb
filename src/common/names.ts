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
    fail(
      'BAD_NAME',
      `${kind} name '${name}' is not valid`,
      'use up to 128 letters, digits and _ . : @ + = -, starting with a letter, digit or _',
    );
  }
  return name;
}

/** Longest relative path (bytes) and path component a stream may name: PATH_MAX and NAME_MAX less one. */
export const MAX_PATH_BYTES = 4095;
const MAX_COMPONENT_BYTES = 255;

/**
 * Why `relative` is not a safe relative path, or undefined when it is: a string, not
 * absolute, normalised (no empty, `.` or `..` component: `a//b`, `./a`, `a/../b` are all
 * refused, not resolved), no NUL, bounded. Such a path joined to a directory stays in it.
 */
export function relativePathProblem(relative: unknown): string | undefined {
  if (typeof relative !== 'string') return 'not a string';
  if (relative.length === 0) return 'empty';
  if (relative.includes('\0')) return 'contains a NUL byte';
  if (relative.startsWith('/')) return 'absolute';
  if (Buffer.byteLength(relative) > MAX_PATH_BYTES) return `longer than ${MAX_PATH_BYTES} bytes`;
  for (const c of relative.split('/')) {
    if (c === '') return 'not normalised (an empty component)';
    if (c === '.' || c === '..') return `not normalised (a '${c}' component)`;
    if (Buffer.byteLength(c) > MAX_COMPONENT_BYTES) return `a component longer than ${MAX_COMPONENT_BYTES} bytes`;
  }
  return undefined;
}

/** A relative path from a stream joined to `root`, checked (relativePathProblem) never to leave it. */
export function safeJoin(root: string, relative: string): string {
  const problem = relativePathProblem(relative);
  if (problem !== undefined) fail('FORMAT', `unsafe path ${JSON.stringify(relative)} in stream: ${problem}`);
  return path.join(root, relative);
}

// Loading of napi-rs packages (prebuilt native modules, one package per platform).

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The platform's native package itself when it is installed: the generic package's loader
 * asks process.report whether the C library is musl, which costs about 20 ms in every
 * thread that loads it (the main thread and each worker). Anywhere else (another platform,
 * a musl system where the glibc build fails to load) the generic loader decides.
 */
export function requireNative<T>(pkg: string): T {
  const abi = process.platform === 'linux' ? '-gnu' : process.platform === 'win32' ? '-msvc' : '';
  try {
    return require(`${pkg}-${process.platform}-${process.arch}${abi}`) as T;
  } catch {
    return require(pkg) as T;
  }
}

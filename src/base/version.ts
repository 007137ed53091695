/** The package version (test/version.test.ts checks it against package.json); a constant, so the core needs no file access. */
export const VERSION = '0.1.0';

/** Path containment, the last guard before reading or writing under a chosen folder (Node-side: uses node:path). */
import path from 'node:path';

/** `child` lies strictly inside `dir` once both are resolved (not `dir` itself, not beside or above it). */
export function isInsideDir(child: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(child));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

import { promises as fsp } from 'node:fs';

/** Whether `file` exists (any kind; an unreadable parent counts as missing, and the later write reports why). */
export async function pathExists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * The one place browser tests start Chromium: Debian's /usr/bin/chromium (or SAM_AMG_CHROMIUM) driven by
 * playwright-core, headless, with a fresh profile, and with every background service off — this network is
 * closed, and Chromium's own connections (updates, sync, QUIC probes) would only be refused or time out.
 *
 * `npm run test:browser` (scripts/test-browser.sh) makes sure the binary exists before vitest starts. A new browser
 * suite is a `test/browser/<name>.test.ts` that calls launchChromium() (and closes it); vitest.browser.config.ts
 * picks it up, and test/browser/global-setup.ts is where a suite's one-time build step goes.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The Chromium binary the tests drive. */
export const CHROMIUM_PATH = process.env.SAM_AMG_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a quiet, offline, sandbox-free headless Chromium (the test machines run as root in containers). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** A running browser: open pages with `page()`, and always `close()` (removes the profile too). */
export interface Browser {
  context: BrowserContext;
  page(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Starts headless Chromium with a fresh profile folder; throws naming the binary when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: run the browser tests with npm run test:browser (it installs Debian's chromium as root)`);
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'sam-amg-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: 1280, height: 800 },
      deviceScaleFactor: 1,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    page: async (viewport) => {
      const p = await context.newPage();
      if (viewport) await p.setViewportSize(viewport);
      return p;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The file:// URL of a local file, with an optional hash. */
export function fileUrl(file: string, hash = ''): string {
  return `${pathToFileURL(file).href}${hash}`;
}

/**
 * Before any browser test: both pages are bundled fresh — the report page into dist/web/report (where
 * `sam-amg report` copies it from) and the AMG page into dist/web/app (what scripts/web-server.ts serves).
 */
import { buildWeb, buildWebApp } from '../../scripts/build-web.js';

export default async function setup(): Promise<void> {
  await buildWeb();
  await buildWebApp();
}

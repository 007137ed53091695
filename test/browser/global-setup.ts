/** Before any browser test: the report page is bundled fresh into dist/web/report, where `sam-amg report` copies it from. */
import { buildWeb } from '../../scripts/build-web.js';

export default async function setup(): Promise<void> {
  await buildWeb();
}

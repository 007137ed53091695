/**
 * The report page (index.html + report.js): loads data/index.js, then shows the index or one image depending on
 * the URL's hash. Works from file:// (no fetch, no network) and from any static server.
 */
import type { ReportIndex } from '../../src/report/data.js';
import { loadIndex } from './data.js';
import { el, setChildren } from '../shared/dom.js';
import { GridView } from './grid.js';
import { hashOf, listImages, parseHash, type Route } from './route.js';
import { ImageView } from './viewer.js';
import { errorMessage } from '../../src/base/errors.js';

async function start(): Promise<void> {
  const app = document.getElementById('app') as HTMLElement;
  let index: ReportIndex;
  try {
    index = await loadIndex();
  } catch (err) {
    setChildren(app, el('p', { class: 'error' }, `${errorMessage(err)}: is this the folder sam-amg report wrote?`));
    return;
  }
  document.title = `${index.title} · sam-amg report`;
  const navigate = (route: Route, replace = false): void => {
    const hash = hashOf(route);
    if (replace) {
      history.replaceState(null, '', hash);
      show();
    } else if (location.hash !== hash) {
      location.hash = hash;
    } else {
      show();
    }
  };
  const grid = new GridView(index, navigate);
  const viewer = new ImageView(index, navigate);
  setChildren(app, grid.root, viewer.root);

  const show = (): void => {
    const route = parseHash(location.hash);
    const onImage = route.view === 'image' && route.image < index.images.length;
    grid.root.hidden = onImage;
    viewer.root.hidden = !onImage;
    document.body.dataset.view = onImage ? 'image' : 'grid';
    if (route.view === 'image' && onImage) {
      void viewer.show(route.image, listImages(index, route.list), route.list);
    } else {
      grid.show(route.view === 'grid' ? route.page : 1, route.list);
    }
  };
  window.addEventListener('hashchange', show);
  document.addEventListener('keydown', (e) => {
    if (document.body.dataset.view !== 'image' || e.altKey || e.ctrlKey || e.metaKey) return;
    // Keys belong to the control that has focus (a slider moves with ←/→).
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
    if (e.key === 'ArrowLeft') viewer.step(-1);
    else if (e.key === 'ArrowRight') viewer.step(1);
    else if (e.key === 'Escape') viewer.escape();
    else return;
    e.preventDefault();
  });
  show();
  document.body.dataset.ready = '1';
}

void start();

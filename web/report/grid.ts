/**
 * The index: a summary of the output(s), the problems, and one page of thumbnails at a time (only that page is
 * in the DOM, and thumbnails load lazily), so tens of thousands of images open at once.
 */
import type { ReportIndex, ReportIndexImage } from '../../src/report/data.js';
import { el, setChildren } from '../shared/dom.js';
import { count, percent, plural, score } from '../shared/format.js';
import { hashOf, listImages, SORTS, type ListState, type Route, type SortKey } from './route.js';

/** How the grid asks the app to go somewhere; `replace` keeps the history entry (typing in the filter). */
export type Navigate = (route: Route, replace?: boolean) => void;

/** The index view. */
export class GridView {
  readonly root: HTMLElement;
  private readonly cards = el('div', { class: 'cards' });
  private readonly pager = el('nav', { class: 'pager' });
  private readonly pagerBottom = el('nav', { class: 'pager' });
  private readonly sort: HTMLSelectElement;
  private readonly filter: HTMLInputElement;
  private list: ListState = { sort: 'file', q: '' };

  constructor(
    private readonly index: ReportIndex,
    private readonly navigate: Navigate,
  ) {
    const compare = index.compare !== null;
    this.sort = el('select', { id: 'sort', 'aria-label': 'order' });
    for (const [key, label] of Object.entries(SORTS)) {
      if (key === 'diff' && !compare) continue;
      this.sort.append(el('option', { value: key }, label));
    }
    this.sort.addEventListener('change', () => this.go({ ...this.list, sort: this.sort.value as SortKey }, 1));
    this.filter = el('input', { id: 'filter', type: 'search', placeholder: 'filter by name', 'aria-label': 'filter by name' });
    this.filter.addEventListener('input', () => this.go({ ...this.list, q: this.filter.value }, 1, true));
    this.root = el(
      'section',
      { id: 'grid', class: 'view' },
      header(index),
      problems(index),
      el('div', { class: 'toolbar' }, el('label', {}, 'order ', this.sort), this.filter, this.pager),
      this.cards,
      this.pagerBottom,
    );
  }

  /** Shows page `page` of `list`. */
  show(page: number, list: ListState): void {
    this.list = list;
    this.sort.value = list.sort;
    if (this.filter.value !== list.q) this.filter.value = list.q;
    const ids = listImages(this.index, list);
    const size = this.index.page_size;
    const pages = Math.max(1, Math.ceil(ids.length / size));
    const p = Math.min(Math.max(1, page), pages);
    const onPage = ids.slice((p - 1) * size, p * size);
    setChildren(this.cards, ...onPage.map((i) => this.card(i, this.index.images[i])));
    for (const nav of [this.pager, this.pagerBottom]) this.fillPager(nav, p, pages, ids.length);
    this.root.dataset.page = String(p);
    this.root.dataset.pages = String(pages);
  }

  private go(list: ListState, page: number, replace = false): void {
    this.navigate({ view: 'grid', page, list }, replace);
  }

  private fillPager(nav: HTMLElement, p: number, pages: number, n: number): void {
    const link = (label: string, to: number, cls: string): HTMLElement =>
      to < 1 || to > pages || to === p
        ? el('span', { class: `${cls} off` }, label)
        : el('a', { class: cls, href: hashOf({ view: 'grid', page: to, list: this.list }) }, label);
    setChildren(
      nav,
      link('«', 1, 'first'),
      link('‹ prev', p - 1, 'prev'),
      el('span', { class: 'where' }, `page ${count(p)} of ${count(pages)} · ${plural(n, 'image')}`),
      link('next ›', p + 1, 'next'),
      link('»', pages, 'last'),
    );
  }

  private card(i: number, im: ReportIndexImage): HTMLElement {
    const stats: (Node | string)[] = [];
    if (im.masks.length === 2) {
      stats.push(
        el('span', {}, `A ${im.masks[0] ?? '–'} · B ${im.masks[1] ?? '–'}`),
        el('span', { class: im.missed ? 'missed' : '' }, `missed ${im.missed ?? 0}`),
        el('span', { class: im.extra ? 'extra' : '' }, `extra ${im.extra ?? 0}`),
      );
    } else {
      stats.push(el('span', {}, plural(im.masks[0] ?? 0, 'mask')), el('span', {}, `IoU ${score(im.iou[0])}`), el('span', {}, `${percent(im.cover[0])} covered`));
    }
    const thumb = im.thumb === null ? el('div', { class: 'nothumb' }) : el('img', { src: im.thumb, loading: 'lazy', alt: '', width: 256, height: Math.max(1, Math.round((256 * im.h) / Math.max(1, im.w))) });
    return el(
      'a',
      { class: 'card', href: hashOf({ view: 'image', image: i, list: this.list }), 'data-index': i },
      el('div', { class: 'thumb' }, thumb),
      el('div', { class: 'name', title: im.name }, im.name),
      el('div', { class: 'stats' }, ...stats),
    );
  }
}

function header(index: ReportIndex): HTMLElement {
  const totalMasks = index.images.reduce((t, im) => t + (im.masks[0] ?? 0), 0);
  let iouSum = 0;
  let iouN = 0;
  for (const im of index.images) {
    if (im.iou[0] !== null && im.masks[0] !== null) {
      iouSum += im.iou[0] * im.masks[0];
      iouN += im.masks[0];
    }
  }
  const lines: HTMLElement[] = index.outputs.map((o) =>
    el(
      'li',
      {},
      el('b', {}, index.outputs.length > 1 ? `${o.label}: ` : ''),
      el('code', {}, o.path),
      ` — ${o.format}, ${plural(o.images, 'image')}, ${plural(o.masks, 'mask')}${o.model ? `, model ${o.model}` : ''}`,
    ),
  );
  const summary: (Node | string)[] = [];
  if (index.compare) {
    const c = index.compare;
    summary.push(
      `matching at IoU ≥ ${c.min_iou}: ${count(c.matched)} matched, `,
      el('span', { class: 'missed' }, `${count(c.missed)} missed`),
      ' (A without a match), ',
      el('span', { class: 'extra' }, `${count(c.extra)} extra`),
      ` (B without a match), recall ${c.recall.toFixed(3)}`,
    );
  } else {
    summary.push(`${plural(index.images.length, 'image')}, ${plural(totalMasks, 'mask')}, mean predicted IoU ${score(iouN ? iouSum / iouN : null)}`);
  }
  return el('header', {}, el('h1', {}, index.title), el('ul', { class: 'outputs' }, ...lines), el('p', { class: 'summary', id: 'summary' }, ...summary));
}

function problems(index: ReportIndex): HTMLElement {
  if (index.problems.length === 0) return el('div', { hidden: true });
  return el(
    'details',
    { class: 'problems' },
    el('summary', {}, `${plural(index.problems.length, 'problem')} (failed images, missing photos)`),
    el('ul', {}, ...index.problems.map((p) => el('li', {}, el('code', {}, p.file), ` [${p.stage}] ${p.message}`))),
  );
}

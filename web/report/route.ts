/**
 * Where the page is, kept in the URL's hash so that back/forward, reloads and links work from file:// too:
 * `#page=3&sort=iou&q=dog` (index page 3 of the sorted, filtered list) or `#image=17&sort=iou&q=dog`.
 */
import type { ReportIndex, ReportIndexImage } from '../../src/report/data.js';

/** Orders of the index. */
export const SORTS = {
  file: 'file order',
  'masks-desc': 'most masks',
  'masks-asc': 'fewest masks',
  iou: 'lowest mean IoU',
  cover: 'lowest coverage',
  diff: 'most missed + extra',
} as const;
export type SortKey = keyof typeof SORTS;

/** The list the index shows and the image view steps through. */
export interface ListState {
  sort: SortKey;
  /** Case-insensitive part of the file name; '' for all. */
  q: string;
}

export type Route = { view: 'grid'; page: number; list: ListState } | { view: 'image'; image: number; list: ListState };

/** Reads a hash (with or without '#'). */
export function parseHash(hash: string): Route {
  const p = new URLSearchParams(hash.replace(/^#/u, ''));
  const sort = p.get('sort') ?? 'file';
  const list: ListState = { sort: sort in SORTS ? (sort as SortKey) : 'file', q: p.get('q') ?? '' };
  const image = p.get('image');
  if (image !== null && /^\d+$/u.test(image)) return { view: 'image', image: Number(image), list };
  const page = Number(p.get('page') ?? '1');
  return { view: 'grid', page: Number.isInteger(page) && page >= 1 ? page : 1, list };
}

/** The hash of a route. */
export function hashOf(r: Route): string {
  const p = new URLSearchParams();
  if (r.view === 'image') p.set('image', String(r.image));
  else p.set('page', String(r.page));
  if (r.list.sort !== 'file') p.set('sort', r.list.sort);
  if (r.list.q !== '') p.set('q', r.list.q);
  return `#${p.toString()}`;
}

/** Indices of the images in the list, filtered and sorted (stable: ties keep file order). */
export function listImages(index: ReportIndex, list: ListState): number[] {
  const q = list.q.toLowerCase();
  const ids: number[] = [];
  index.images.forEach((im, i) => {
    if (q === '' || im.name.toLowerCase().includes(q)) ids.push(i);
  });
  const key = sortKey(list.sort);
  if (key === null) return ids;
  const k = ids.map((i) => key(index.images[i]));
  const order = ids.map((_, j) => j).sort((a, b) => k[a] - k[b] || a - b);
  return order.map((j) => ids[j]);
}

/** Ascending key of a sort, or null for file order. Missing values sort last. */
function sortKey(sort: SortKey): ((im: ReportIndexImage) => number) | null {
  const first = <T>(xs: (T | null)[]): T | null => xs.find((x) => x !== null) ?? null;
  switch (sort) {
    case 'file':
      return null;
    case 'masks-desc':
      return (im) => -(first(im.masks) ?? -Infinity);
    case 'masks-asc':
      return (im) => first(im.masks) ?? Infinity;
    case 'iou':
      return (im) => first(im.iou) ?? Infinity;
    case 'cover':
      return (im) => first(im.cover) ?? Infinity;
    case 'diff':
      return (im) => -((im.missed ?? 0) + (im.extra ?? 0));
  }
}

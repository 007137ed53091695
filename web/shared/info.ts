/**
 * The info panel beside the image: the hovered or pinned mask's record (one `dd` per field, its name in
 * data-field), or a hint; the panel's data-id, data-side and data-pinned say what it shows.
 */
import { el, setChildren } from './dom.js';
import { coord, count, score } from './format.js';

/** A mask's record as the panel shows it (the report's and the page's record shapes both map onto it). */
export interface InfoRecord {
  id: number;
  area: number;
  bbox: readonly number[];
  predictedIou: number | null;
  stabilityScore: number | null;
  point: readonly number[] | null;
  cropBox: readonly number[];
}

/** What the panel says about itself. */
export interface InfoState {
  /** The mask's id, '' for none. */
  id: string;
  /** The output's label when two are compared. */
  side?: string;
  pinned?: boolean;
}

/** The panel element (one per page). */
export function infoPanel(): HTMLElement {
  return el('aside', { class: 'info', id: 'info' });
}

/** The record's rows, in this order: id, area, bbox, predicted_iou, stability_score, point, crop_box. */
export function recordRows(r: InfoRecord): [string, string][] {
  return [
    ['id', String(r.id)],
    ['area', count(r.area)],
    ['bbox', `[${r.bbox.map(coord).join(', ')}]`],
    ['predicted_iou', score(r.predictedIou)],
    ['stability_score', score(r.stabilityScore)],
    ['point', r.point === null ? '–' : `(${r.point.map(coord).join(', ')})`],
    ['crop_box', `[${r.cropBox.map(coord).join(', ')}]`],
  ];
}

function setState(info: HTMLElement, state: InfoState): void {
  info.dataset.id = state.id;
  info.dataset.side = state.side ?? '';
  info.dataset.pinned = state.pinned ? '1' : '0';
}

/** Shows one mask: a heading and its rows. */
export function showMask(info: HTMLElement, heading: string, rows: readonly [string, string][], state: InfoState): void {
  setState(info, state);
  setChildren(info, el('h3', {}, heading), el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-field': k }, v)])));
}

/** Shows a hint instead of a mask. */
export function showHint(info: HTMLElement, text: string): void {
  setState(info, { id: '' });
  setChildren(info, el('p', { class: 'hint' }, text));
}

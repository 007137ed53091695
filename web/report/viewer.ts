/**
 * One image: the photo with its masks drawn from their RLE (one canvas pixel per mask pixel, the canvas scaled
 * to the window), hover to highlight a mask and read its record, click to pin it, sliders that filter by predicted
 * IoU, stability and area, a fill / outline / boxes toggle, and ←/→ between images. With two outputs, A and B
 * side by side: A's masks without a match in B (missed) in one colour, B's without a match in A (extra) in
 * another, matched ones in grey; hovering a matched mask highlights its partner.
 */
import type { Rle } from '../../src/rle/rle.js';
import type { ReportImageData, ReportIndex, ReportMask } from '../../src/report/data.js';
import { MASK_FILL_ALPHA, maskColour } from '../../src/output/mask-colour.js';
import { loadImage } from './data.js';
import { el, setChildren } from './dom.js';
import { coord, count, plural, score } from './format.js';
import { boxOutline, decodeMasks, drawHighlight, drawOrder, fillMask, lineWidth, markHits, outlineMask, type Rgb } from './render.js';
import { hashOf, type ListState, type Route } from './route.js';
import { errorMessage } from '../../src/base/errors.js';

/** Colours of a comparison. */
export const MISSED: Rgb = [255, 40, 80];
export const EXTRA: Rgb = [0, 150, 255];
const MATCHED: Rgb = [200, 200, 200];

type Mode = 'fill' | 'outline' | 'boxes';

/** Filters and mode; kept while moving between images. */
interface Filters {
  iou: number;
  stability: number;
  /** Slider position 0..1000; the area threshold is maxArea × (v/1000)². */
  areaPos: number;
  mode: Mode;
}

/** One side's canvas and everything drawn on it. */
interface Panel {
  k: number;
  label: string;
  masks: ReportMask[];
  rles: Rle[];
  colours: Rgb[];
  alphas: number[];
  frame: HTMLElement;
  canvas: HTMLCanvasElement;
  hl: HTMLCanvasElement;
  /** Index of the mask on top at each pixel (-1: none), for the visible masks. */
  hit: Int32Array;
  visible: number[];
}

/** A mask by side and index. */
interface Ref {
  k: number;
  i: number;
}

/** The image view. */
export class ImageView {
  readonly root: HTMLElement;
  private readonly title = el('h2', { id: 'title' });
  private readonly position = el('span', { class: 'where', id: 'position' });
  private readonly back = el('a', { class: 'back', id: 'back' }, '← index');
  private readonly prev = el('a', { class: 'prev', id: 'prev' }, '‹ prev');
  private readonly next = el('a', { class: 'next', id: 'next' }, 'next ›');
  private readonly stage = el('div', { class: 'stage', id: 'stage' });
  private readonly info = el('aside', { class: 'info', id: 'info' });
  private readonly shown = el('span', { id: 'shown' });
  private readonly legend = el('div', { class: 'legend' });
  private readonly sliders: Record<'iou' | 'stability' | 'area', { input: HTMLInputElement; value: HTMLElement }>;
  private readonly modes: Record<Mode, HTMLInputElement>;
  private filters: Filters = { iou: 0, stability: 0, areaPos: 0, mode: 'fill' };
  private data: ReportImageData | undefined;
  private panels: Panel[] = [];
  private hover: Ref | null = null;
  private pinned: Ref | null = null;
  private scratch = new Uint8Array(0);
  private maxArea = 0;
  private frameRequest = 0;
  private list: number[] = [];
  private listState: ListState = { sort: 'file', q: '' };
  private current = -1;
  private loading = 0;

  constructor(
    private readonly index: ReportIndex,
    private readonly navigate: (route: Route) => void,
  ) {
    const slider = (id: 'iou' | 'stability' | 'area', label: string, max: string, step: string) => {
      const input = el('input', { id: `min-${id}`, type: 'range', min: '0', max, step, value: '0' });
      const value = el('output', { for: `min-${id}` });
      input.addEventListener('input', () => this.readControls());
      return { input, value, label: el('label', { class: 'slider' }, `${label} ≥ `, value, input) };
    };
    const iou = slider('iou', 'predicted IoU', '1', '0.001');
    const stability = slider('stability', 'stability', '1', '0.001');
    const area = slider('area', 'area', '1000', '1');
    this.sliders = { iou, stability, area };
    const modeInput = (m: Mode): HTMLInputElement => {
      const input = el('input', { type: 'radio', name: 'mode', value: m, id: `mode-${m}`, checked: m === 'fill' });
      input.addEventListener('change', () => this.readControls());
      return input;
    };
    this.modes = { fill: modeInput('fill'), outline: modeInput('outline'), boxes: modeInput('boxes') };
    const modes = el(
      'fieldset',
      { class: 'modes' },
      ...(['fill', 'outline', 'boxes'] as const).map((m) => el('label', {}, this.modes[m], ` ${m}`)),
    );
    this.root = el(
      'section',
      { id: 'image', class: 'view', 'data-pending': '1' },
      el('nav', { class: 'bar' }, this.back, this.prev, this.next, this.position, this.title),
      el('div', { class: 'controls' }, modes, iou.label, stability.label, area.label, this.shown, this.legend),
      el('div', { class: 'body' }, this.stage, this.info),
    );
    window.addEventListener('resize', () => {
      if (!this.root.hidden) this.requestRender();
    });
  }

  /** Shows image `n` of the index, stepping through `list` (the index's current order) with ←/→. */
  async show(n: number, list: number[], listState: ListState): Promise<void> {
    this.list = list;
    this.listState = listState;
    this.current = n;
    const at = list.indexOf(n);
    const link = (a: HTMLAnchorElement, to: number | undefined): void => {
      if (to === undefined) a.removeAttribute('href');
      else a.href = hashOf({ view: 'image', image: to, list: listState });
      a.classList.toggle('off', to === undefined);
    };
    link(this.prev, at > 0 ? list[at - 1] : undefined);
    link(this.next, at >= 0 && at < list.length - 1 ? list[at + 1] : undefined);
    const page = at < 0 ? 1 : Math.floor(at / this.index.page_size) + 1;
    this.back.href = hashOf({ view: 'grid', page, list: listState });
    this.position.textContent = at < 0 ? '' : `${count(at + 1)} of ${count(list.length)}`;
    const im = this.index.images[n];
    this.title.textContent = im ? `${im.name} · ${im.w}×${im.h}` : `no image ${n}`;
    this.root.dataset.image = String(n);
    this.root.dataset.pending = '1';
    const ticket = ++this.loading;
    let data: ReportImageData;
    try {
      data = await loadImage(n);
    } catch (err) {
      if (ticket !== this.loading) return;
      setChildren(this.stage, el('p', { class: 'error' }, errorMessage(err)));
      this.root.dataset.pending = '0';
      return;
    }
    if (ticket !== this.loading) return;
    this.open(data);
  }

  /** Moves to the previous (-1) or next (+1) image of the list. */
  step(d: -1 | 1): void {
    const at = this.list.indexOf(this.current);
    const to = this.list[at + d];
    if (at >= 0 && to !== undefined) this.navigate({ view: 'image', image: to, list: this.listState });
  }

  /** Escape: unpins, or goes back to the index when nothing is pinned. */
  escape(): void {
    if (this.pinned !== null) {
      this.pinned = null;
      this.drawHighlight();
      return;
    }
    this.back.click();
  }

  private open(data: ReportImageData): void {
    this.data = data;
    this.hover = null;
    this.pinned = null;
    const { width: W, height: H } = data;
    const compare = data.sides.length === 2;
    this.scratch = new Uint8Array(W * H);
    this.maxArea = 0;
    this.panels = data.sides.map((side, k) => {
      const masks = side.masks ?? [];
      for (const m of masks) this.maxArea = Math.max(this.maxArea, m.area);
      const photo =
        data.photo === null ? el('div', { class: 'nophoto' }, 'no photo') : el('img', { class: 'photo', src: data.photo, alt: data.file_name, draggable: 'false' });
      const canvas = el('canvas', { class: 'masks', width: W, height: H });
      const hl = el('canvas', { class: 'hl', width: W, height: H });
      // As large as the column allows without growing taller than the window, at the image's aspect ratio.
      const frame = el('div', { class: 'frame', style: `aspect-ratio: ${W} / ${H}; width: min(100%, calc((100vh - 170px) * ${W / H}))` }, photo, canvas, hl);
      const colours = masks.map((m, i) => (compare ? (m.match === -1 ? (k === 0 ? MISSED : EXTRA) : MATCHED) : maskColour(i)));
      const alphas = masks.map((m) => (compare ? (m.match === -1 ? 0.6 : 0.3) : MASK_FILL_ALPHA));
      const panel: Panel = {
        k,
        label: side.label,
        masks,
        rles: decodeMasks(masks, W, H),
        colours,
        alphas,
        frame,
        canvas,
        hl,
        hit: new Int32Array(W * H),
        visible: [],
      };
      hl.addEventListener('pointermove', (e) => this.onPointer(panel, e));
      hl.addEventListener('pointerleave', () => this.setHover(null));
      hl.addEventListener('click', (e) => this.onClick(panel, e));
      return panel;
    });
    const heading = (k: number): HTMLElement => {
      const side = data.sides[k];
      const n = side.masks === null ? 'not in this output' : plural(side.masks.length, 'mask');
      return el('h3', {}, compare ? `${side.label} · ${n}` : n);
    };
    setChildren(
      this.stage,
      ...this.panels.map((p) => el('div', { class: 'panel', 'data-side': p.label }, heading(p.k), p.frame)),
    );
    this.stage.classList.toggle('two', compare);
    setChildren(
      this.legend,
      ...(compare
        ? [
            el('span', { class: 'swatch', style: `background: rgb(${MISSED.join(',')})` }),
            ' missed (A, no match in B) ',
            el('span', { class: 'swatch', style: `background: rgb(${EXTRA.join(',')})` }),
            ' extra (B, no match in A) ',
            el('span', { class: 'swatch', style: `background: rgb(${MATCHED.join(',')})` }),
            ' matched',
          ]
        : []),
    );
    this.readControls();
  }

  /** Reads sliders and mode, updates their labels, and redraws. */
  private readControls(): void {
    const mode = (Object.keys(this.modes) as Mode[]).find((m) => this.modes[m].checked) ?? 'fill';
    this.filters = {
      iou: Number(this.sliders.iou.input.value),
      stability: Number(this.sliders.stability.input.value),
      areaPos: Number(this.sliders.area.input.value),
      mode,
    };
    this.sliders.iou.value.textContent = this.filters.iou.toFixed(3);
    this.sliders.stability.value.textContent = this.filters.stability.toFixed(3);
    this.sliders.area.value.textContent = count(this.minArea());
    this.requestRender();
  }

  private minArea(): number {
    const t = this.filters.areaPos / 1000;
    return Math.round(this.maxArea * t * t);
  }

  private requestRender(): void {
    if (this.data === undefined) return;
    this.root.dataset.pending = '1';
    if (this.frameRequest !== 0) return;
    this.frameRequest = requestAnimationFrame(() => {
      this.frameRequest = 0;
      this.render();
      this.root.dataset.pending = '0';
    });
  }

  /** Redraws every panel for the current filters and mode. */
  private render(): void {
    const data = this.data;
    if (data === undefined) return;
    const { width: W, height: H } = data;
    const minArea = this.minArea();
    const f = this.filters;
    let shown = 0;
    let total = 0;
    for (const p of this.panels) {
      const visible: number[] = [];
      p.masks.forEach((m, i) => {
        if (m.predicted_iou >= f.iou && m.stability_score >= f.stability && m.area >= minArea) visible.push(i);
      });
      p.visible = drawOrder(p.masks, visible);
      shown += visible.length;
      total += p.masks.length;
      const ctx = p.canvas.getContext('2d') as CanvasRenderingContext2D;
      const image = ctx.createImageData(W, H);
      const px = image.data;
      p.hit.fill(-1);
      const lw = lineWidth(W, p.frame.clientWidth);
      for (const i of p.visible) {
        markHits(p.hit, p.rles[i], i);
        if (f.mode === 'fill') fillMask(px, p.rles[i], p.colours[i], p.alphas[i]);
        else if (f.mode === 'outline') outlineMask(px, W, H, 0, 0, p.rles[i], p.masks[i].bbox, p.colours[i], lw, this.scratch);
        else boxOutline(px, W, H, p.masks[i].bbox, p.colours[i], lw);
      }
      ctx.putImageData(image, 0, 0);
      p.canvas.dataset.visible = String(visible.length);
    }
    this.shown.textContent = `showing ${count(shown)} of ${plural(total, 'mask')}`;
    // A hidden mask can be neither hovered nor pinned.
    if (this.pinned && !this.isVisible(this.pinned)) this.pinned = null;
    if (this.hover && !this.isVisible(this.hover)) this.hover = null;
    this.drawHighlight();
  }

  private isVisible(r: Ref): boolean {
    return this.panels[r.k]?.visible.includes(r.i) ?? false;
  }

  private pixelAt(p: Panel, e: MouseEvent): number {
    const data = this.data as ReportImageData;
    const rect = p.hl.getBoundingClientRect();
    const x = Math.floor(((e.clientX - rect.left) * data.width) / rect.width);
    const y = Math.floor(((e.clientY - rect.top) * data.height) / rect.height);
    if (x < 0 || y < 0 || x >= data.width || y >= data.height) return -1;
    return p.hit[y * data.width + x];
  }

  private onPointer(p: Panel, e: PointerEvent): void {
    const i = this.pixelAt(p, e);
    this.setHover(i < 0 ? null : { k: p.k, i });
  }

  private onClick(p: Panel, e: MouseEvent): void {
    const i = this.pixelAt(p, e);
    const same = this.pinned !== null && this.pinned.k === p.k && this.pinned.i === i;
    this.pinned = i < 0 || same ? null : { k: p.k, i };
    this.drawHighlight();
  }

  private setHover(r: Ref | null): void {
    if (r?.k === this.hover?.k && r?.i === this.hover?.i) return;
    this.hover = r;
    this.drawHighlight();
  }

  /** Highlights the pinned mask (else the hovered one) and its partner, and fills the info panel. */
  private drawHighlight(): void {
    const data = this.data;
    if (data === undefined) return;
    const focus = this.pinned ?? this.hover;
    for (const p of this.panels) (p.hl.getContext('2d') as CanvasRenderingContext2D).clearRect(0, 0, data.width, data.height);
    if (focus === null) {
      this.info.dataset.id = '';
      this.info.dataset.side = '';
      this.info.dataset.pinned = '0';
      setChildren(this.info, el('p', { class: 'hint' }, 'Hover a mask to see its record; click to pin it. ←/→: images, Esc: unpin / index.'));
      return;
    }
    const p = this.panels[focus.k];
    const m = p.masks[focus.i];
    this.highlight(p, focus.i);
    const other = this.panels[1 - focus.k];
    if (other !== undefined && m.match !== undefined && m.match >= 0) this.highlight(other, m.match);
    this.info.dataset.id = String(m.id);
    this.info.dataset.side = p.label;
    this.info.dataset.pinned = this.pinned ? '1' : '0';
    const rows: [string, string][] = [
      ['id', String(m.id)],
      ['area', count(m.area)],
      ['bbox', `[${m.bbox.map(coord).join(', ')}]`],
      ['predicted_iou', score(m.predicted_iou)],
      ['stability_score', score(m.stability_score)],
      ['point', m.point === null ? '–' : `(${m.point.map(coord).join(', ')})`],
      ['crop_box', `[${m.crop_box.map(coord).join(', ')}]`],
    ];
    if (m.match !== undefined && other !== undefined) {
      rows.push(
        m.match >= 0
          ? ['match', `${other.label} #${other.masks[m.match].id}, IoU ${score(m.match_iou)}`]
          : ['match', focus.k === 0 ? 'none: missed by B' : 'none: extra in B'],
      );
    }
    setChildren(
      this.info,
      el('h3', {}, `${this.panels.length > 1 ? `${p.label} ` : ''}mask #${m.id}${this.pinned ? ' (pinned)' : ''}`),
      el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-field': k }, v)])),
    );
  }

  /** White wash and a black-and-white border over mask i, drawn into its box only. */
  private highlight(p: Panel, i: number): void {
    const data = this.data as ReportImageData;
    const ctx = p.hl.getContext('2d') as CanvasRenderingContext2D;
    drawHighlight(ctx, data.width, data.height, p.rles[i], p.masks[i].bbox, lineWidth(data.width, p.frame.clientWidth), this.scratch);
  }
}

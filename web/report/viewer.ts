/**
 * One image: the photo with its masks drawn from their RLE by the rasteriser (src/draw; one canvas pixel per image
 * pixel, or per block of them for a very large image, the canvas scaled to the window; web/shared/mask-frame.ts),
 * hover to highlight a mask and read its record, click to pin it, sliders that filter by predicted
 * IoU, stability and area, a fill / outline / boxes toggle, and ←/→ between images. With two outputs, A and B
 * side by side: A's masks without a match in B (missed) in one colour, B's without a match in A (extra) in
 * another, matched ones in grey; hovering a matched mask highlights its partner.
 */
import type { Rgb } from '../../src/draw/frame.js';
import { drawOrder, type DrawMask, type DrawStyle } from '../../src/draw/rasterise.js';
import type { ReportImageData, ReportIndex, ReportMask } from '../../src/report/data.js';
import { cssColour, MASK_FILL_ALPHA, maskColour } from '../shared/colours.js';
import { el, setChildren } from '../shared/dom.js';
import { coord, count, plural, score } from '../shared/format.js';
import { infoPanel, recordRows, showHint, showMask } from '../shared/info.js';
import { MaskFrame } from '../shared/mask-frame.js';
import { loadImage } from './data.js';
import { decodeMasks } from './masks.js';
import { hashOf, type ListState, type Route } from './route.js';
import { errorMessage } from '../../src/base/errors.js';

/** Colours of a comparison. */
export const MISSED: Rgb = [255, 40, 80];
export const EXTRA: Rgb = [0, 150, 255];
const MATCHED: Rgb = [200, 200, 200];

type Mode = 'fill' | 'outline' | 'boxes';

/** What each mode draws. */
const MODE_STYLES: Record<Mode, DrawStyle> = { fill: { fill: true }, outline: { outline: true }, boxes: { box: true } };

/** Height of the page's bars above the image, which the frame leaves room for. */
const RESERVE_PX = 170;

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
  /** The masks as the rasteriser draws them: decoded runs, colours and fill opacities. */
  draw: DrawMask[];
  frame: MaskFrame;
  /** The masks the filters let through, in draw order. */
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
  private readonly info = infoPanel();
  private readonly shown = el('span', { id: 'shown' });
  private readonly legend = el('div', { class: 'legend' });
  private readonly sliders: Record<'iou' | 'stability' | 'area', { input: HTMLInputElement; value: HTMLElement }>;
  private readonly modes: Record<Mode, HTMLInputElement>;
  private filters: Filters = { iou: 0, stability: 0, areaPos: 0, mode: 'fill' };
  private data: ReportImageData | undefined;
  private panels: Panel[] = [];
  private hover: Ref | null = null;
  private pinned: Ref | null = null;
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
    this.maxArea = 0;
    this.panels = data.sides.map((side, k) => {
      const masks = side.masks ?? [];
      for (const m of masks) this.maxArea = Math.max(this.maxArea, m.area);
      const photo =
        data.photo === null ? el('div', { class: 'nophoto' }, 'no photo') : el('img', { class: 'photo', src: data.photo, alt: data.file_name, draggable: 'false' });
      const frame = new MaskFrame(photo, RESERVE_PX);
      frame.setImage(W, H);
      const rles = decodeMasks(masks, W, H);
      const draw = masks.map((m, i): DrawMask => {
        const unmatched = m.match === -1;
        return {
          rle: rles[i],
          area: m.area,
          bbox: m.bbox,
          colour: compare ? (unmatched ? (k === 0 ? MISSED : EXTRA) : MATCHED) : maskColour(i),
          alpha: compare ? (unmatched ? 0.6 : 0.3) : MASK_FILL_ALPHA,
        };
      });
      const panel: Panel = { k, label: side.label, masks, draw, frame, visible: [] };
      frame.hl.addEventListener('pointermove', (e) => this.onPointer(panel, e));
      frame.hl.addEventListener('pointerleave', () => this.setHover(null));
      frame.hl.addEventListener('click', (e) => this.onClick(panel, e));
      return panel;
    });
    const heading = (k: number): HTMLElement => {
      const side = data.sides[k];
      const n = side.masks === null ? 'not in this output' : plural(side.masks.length, 'mask');
      return el('h3', {}, compare ? `${side.label} · ${n}` : n);
    };
    setChildren(
      this.stage,
      ...this.panels.map((p) => el('div', { class: 'panel', 'data-side': p.label }, heading(p.k), p.frame.root)),
    );
    this.stage.classList.toggle('two', compare);
    setChildren(
      this.legend,
      ...(compare
        ? [
            el('span', { class: 'swatch', style: `background: ${cssColour(MISSED)}` }),
            ' missed (A, no match in B) ',
            el('span', { class: 'swatch', style: `background: ${cssColour(EXTRA)}` }),
            ' extra (B, no match in A) ',
            el('span', { class: 'swatch', style: `background: ${cssColour(MATCHED)}` }),
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
    if (this.data === undefined) return;
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
      p.frame.draw(p.draw, p.visible, MODE_STYLES[f.mode]);
      p.frame.masks.dataset.visible = String(visible.length);
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

  private onPointer(p: Panel, e: PointerEvent): void {
    const i = p.frame.maskAt(e);
    this.setHover(i < 0 ? null : { k: p.k, i });
  }

  private onClick(p: Panel, e: MouseEvent): void {
    const i = p.frame.maskAt(e);
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
    if (this.data === undefined) return;
    const focus = this.pinned ?? this.hover;
    const p = focus === null ? undefined : this.panels[focus.k];
    const m = focus === null || p === undefined ? undefined : p.masks[focus.i];
    const other = focus === null ? undefined : this.panels[1 - focus.k];
    const partner = m?.match !== undefined && m.match >= 0 ? m.match : -1;
    for (const q of this.panels) {
      const which = focus === null ? -1 : q === p ? focus.i : q === other ? partner : -1;
      q.frame.highlight(which < 0 ? [] : [q.draw[which].rle]);
    }
    if (focus === null || p === undefined || m === undefined) {
      showHint(this.info, 'Hover a mask to see its record; click to pin it. ←/→: images, Esc: unpin / index.');
      return;
    }
    const rows = recordRows({
      id: m.id,
      area: m.area,
      bbox: m.bbox,
      predictedIou: m.predicted_iou,
      stabilityScore: m.stability_score,
      point: m.point,
      cropBox: m.crop_box,
    });
    if (m.prompt !== undefined) {
      // A box-prompted record (`sam-amg segment`): the detection it answers.
      rows.push(['category_id', String(m.prompt.category_id)], ['prompt_box', `[${m.prompt.prompt_box.map(coord).join(', ')}]`], ['detection_id', String(m.prompt.detection_id)]);
      if (m.prompt.score !== undefined) rows.push(['score', score(m.prompt.score)]);
    }
    if (m.match !== undefined && other !== undefined) {
      rows.push(
        m.match >= 0
          ? ['match', `${other.label} #${other.masks[m.match].id}, IoU ${score(m.match_iou)}`]
          : ['match', focus.k === 0 ? 'none: missed by B' : 'none: extra in B'],
      );
    }
    const heading = `${this.panels.length > 1 ? `${p.label} ` : ''}mask #${m.id}${this.pinned ? ' (pinned)' : ''}`;
    showMask(this.info, heading, rows, { id: String(m.id), side: p.label, pinned: this.pinned !== null });
  }
}

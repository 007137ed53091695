/**
 * The image with its masks: the photo on one canvas, the masks filled in their colours on a second (drawn straight
 * from the records' RLE by the rasteriser, src/draw, as --overlay and the report draw them), and a third for the
 * hovered mask's highlight (web/shared/mask-frame.ts). Hovering shows the mask's id, predicted IoU, stability and
 * area. Dragging over the image draws a box: the page asks for that box's mask (box prompts, BoxSegmenter) and the
 * view shows the box masks made so far, the newest one's record in the panel.
 */
import type { BoxMask, BoxXYWH, MaskRecord } from '../../src/core/index.js';
import { drawOrder, type DrawMask } from '../../src/draw/rasterise.js';
import { MASK_FILL_ALPHA, maskColour } from '../shared/colours.js';
import { el } from '../shared/dom.js';
import { coord } from '../shared/format.js';
import { infoPanel, recordRows, showHint, showMask } from '../shared/info.js';
import { MaskFrame } from '../shared/mask-frame.js';

/** Height of the page's bars above the image, which the frame leaves room for. */
const RESERVE_PX = 120;

/** A drag shorter than this many image pixels on either side is a click, not a box. */
const MIN_BOX_PX = 2;

/** A box's mask as the view shows it: the mask and the box [x, y, w, h] it answers, in image pixels. */
export interface BoxResult {
  mask: BoxMask;
  box: BoxXYWH;
}

/** The mask view; `root` goes into the page once. */
export class MaskView {
  readonly root: HTMLElement;
  readonly info = infoPanel();
  /** Called with a box dragged over the image (integer image pixels, at least {@link MIN_BOX_PX} on each side). */
  onBox: ((box: BoxXYWH) => void) | undefined;
  private readonly photo = el('canvas', { class: 'photo', id: 'photo' });
  private readonly frame = new MaskFrame(this.photo, RESERVE_PX, true);
  private records: MaskRecord[] = [];
  /** Box masks shown instead of `records` since the last run or image. */
  private boxes: BoxResult[] = [];
  private hover = -1;
  private imageSize = { width: 0, height: 0 };
  /** The drag in progress: where it started, in image pixels. */
  private drag: { x: number; y: number } | null = null;

  constructor() {
    this.root = el('div', { class: 'body' }, el('div', { class: 'stage', id: 'stage' }, this.frame.root), this.info);
    const hl = this.frame.hl;
    hl.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || this.imageSize.width === 0) return;
      this.drag = this.imagePoint(e);
      hl.setPointerCapture(e.pointerId);
    });
    hl.addEventListener('pointermove', (e) => {
      if (this.drag === null) this.setHover(this.frame.maskAt(e));
      else this.drawBand(this.boxTo(e));
    });
    hl.addEventListener('pointerup', (e) => {
      if (this.drag === null) return;
      const box = this.boxTo(e);
      this.drag = null;
      this.showHighlight();
      if (box[2] >= MIN_BOX_PX && box[3] >= MIN_BOX_PX) this.onBox?.(box);
    });
    hl.addEventListener('pointercancel', () => {
      this.drag = null;
      this.showHighlight();
    });
    hl.addEventListener('pointerleave', () => {
      if (this.drag === null) this.setHover(-1);
    });
    this.showInfo();
  }

  /** Shows a new photo without masks (while its masks are being generated). */
  showPhoto(bitmap: ImageBitmap): void {
    this.frame.setImage(bitmap.width, bitmap.height);
    this.imageSize = { width: bitmap.width, height: bitmap.height };
    // The photo at the masks' canvas size (the image's, unless it is too large to draw pixel for pixel).
    const { width, height } = this.frame.geometry;
    this.photo.width = width;
    this.photo.height = height;
    const ctx = this.photo.getContext('2d');
    if (ctx === null) throw new Error('no 2D canvas');
    ctx.drawImage(bitmap, 0, 0, width, height);
    this.setMasks([]);
  }

  /** Draws `records` (ids from 1 in record order, as in the COCO file) over the photo. */
  setMasks(records: MaskRecord[]): void {
    this.records = records;
    this.boxes = [];
    this.drawShown(-1);
  }

  /** Draws the box masks made so far (ids from 1 in the order drawn) and shows the newest one's record. */
  setBoxMasks(boxes: BoxResult[]): void {
    this.boxes = [...boxes];
    this.drawShown(boxes.length - 1);
  }

  private drawShown(hover: number): void {
    const shown = this.shown();
    const masks: DrawMask[] = shown.map((r, i) => ({ rle: r.segmentation, area: r.area, bbox: r.bbox, colour: maskColour(i) }));
    this.frame.draw(masks, drawOrder(masks), { fill: true, alpha: MASK_FILL_ALPHA });
    this.frame.masks.dataset.count = String(shown.length);
    this.hover = hover;
    this.showHighlight();
    this.showInfo();
  }

  /** The masks on the canvas: the box masks when there are any, else the run's records. */
  private shown(): readonly { segmentation: MaskRecord['segmentation']; area: number; bbox: BoxXYWH }[] {
    return this.boxes.length > 0 ? this.boxes.map((b) => b.mask) : this.records;
  }

  private setHover(i: number): void {
    if (i === this.hover) return;
    this.hover = i;
    this.showHighlight();
    this.showInfo();
  }

  private showHighlight(): void {
    const r = this.shown()[this.hover];
    this.frame.highlight(r === undefined ? [] : [r.segmentation]);
  }

  /** The pointer's position in integer image pixels, inside the image. */
  private imagePoint(e: MouseEvent): { x: number; y: number } {
    const rect = this.frame.hl.getBoundingClientRect();
    const { width, height } = this.imageSize;
    const at = (client: number, start: number, size: number, n: number): number => Math.min(n, Math.max(0, Math.round(((client - start) * n) / size)));
    return { x: at(e.clientX, rect.left, rect.width, width), y: at(e.clientY, rect.top, rect.height, height) };
  }

  /** The box from the drag's start to the pointer, [x, y, w, h] in image pixels. */
  private boxTo(e: MouseEvent): BoxXYWH {
    const a = this.drag ?? this.imagePoint(e);
    const b = this.imagePoint(e);
    return [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(b.x - a.x), Math.abs(b.y - a.y)];
  }

  /** The box being dragged, outlined on the highlight canvas. */
  private drawBand(box: BoxXYWH): void {
    const c = this.frame.hl;
    const ctx = c.getContext('2d');
    if (ctx === null) return;
    const sx = c.width / this.imageSize.width;
    const sy = c.height / this.imageSize.height;
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = Math.max(1, this.frame.lineWidth());
    ctx.strokeStyle = '#ffffff';
    ctx.strokeRect(box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy);
    ctx.setLineDash([]);
  }

  private showInfo(): void {
    const id = this.hover + 1;
    const b = this.boxes[this.hover];
    if (b !== undefined) {
      const rows = recordRows({ ...b.mask, id, point: null, cropBox: [0, 0, this.imageSize.width, this.imageSize.height] });
      rows.push(['prompt_box', `[${b.box.map(coord).join(', ')}]`]);
      showMask(this.info, `box mask #${id}`, rows, { id: `box-${id}` });
      return;
    }
    const r = this.boxes.length > 0 ? undefined : this.records[this.hover];
    if (r === undefined) {
      const any = this.boxes.length > 0 || this.records.length > 0;
      showHint(this.info, any ? 'Hover a mask to see its record; drag a box over the image for its mask.' : 'Masks appear here after a run. Drag a box over the image for its mask.');
      return;
    }
    const rows = recordRows({ ...r, id, point: r.pointCoords });
    showMask(this.info, `mask #${id}`, rows, { id: String(id) });
  }
}

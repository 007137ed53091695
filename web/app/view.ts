/**
 * The image with its masks: the photo on one canvas, the masks filled in their colours on a second (drawn straight
 * from the records' RLE by the rasteriser, src/draw, as --overlay and the report draw them), and a third for the
 * hovered mask's highlight (web/shared/mask-frame.ts). Hovering shows the mask's id, predicted IoU, stability and
 * area.
 */
import type { MaskRecord } from '../../src/core/index.js';
import { drawOrder, type DrawMask } from '../../src/draw/rasterise.js';
import { MASK_FILL_ALPHA, maskColour } from '../shared/colours.js';
import { el } from '../shared/dom.js';
import { infoPanel, recordRows, showHint, showMask } from '../shared/info.js';
import { MaskFrame } from '../shared/mask-frame.js';

/** Height of the page's bars above the image, which the frame leaves room for. */
const RESERVE_PX = 120;

/** The mask view; `root` goes into the page once. */
export class MaskView {
  readonly root: HTMLElement;
  readonly info = infoPanel();
  private readonly photo = el('canvas', { class: 'photo', id: 'photo' });
  private readonly frame = new MaskFrame(this.photo, RESERVE_PX, true);
  private records: MaskRecord[] = [];
  private hover = -1;

  constructor() {
    this.root = el('div', { class: 'body' }, el('div', { class: 'stage', id: 'stage' }, this.frame.root), this.info);
    this.frame.hl.addEventListener('pointermove', (e) => this.setHover(this.frame.maskAt(e)));
    this.frame.hl.addEventListener('pointerleave', () => this.setHover(-1));
    this.showInfo();
  }

  /** Shows a new photo without masks (while its masks are being generated). */
  showPhoto(bitmap: ImageBitmap): void {
    this.frame.setImage(bitmap.width, bitmap.height);
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
    this.hover = -1;
    const masks: DrawMask[] = records.map((r, i) => ({ rle: r.segmentation, area: r.area, bbox: r.bbox, colour: maskColour(i) }));
    this.frame.draw(masks, drawOrder(masks), { fill: true, alpha: MASK_FILL_ALPHA });
    this.frame.masks.dataset.count = String(records.length);
    this.frame.highlight([]);
    this.showInfo();
  }

  private setHover(i: number): void {
    if (i === this.hover) return;
    this.hover = i;
    const r = this.records[i];
    this.frame.highlight(r === undefined ? [] : [r.segmentation]);
    this.showInfo();
  }

  private showInfo(): void {
    const r = this.records[this.hover];
    if (r === undefined) {
      showHint(this.info, this.records.length > 0 ? 'Hover a mask to see its record.' : 'Masks appear here after a run.');
      return;
    }
    const id = this.hover + 1;
    const rows = recordRows({ ...r, id, point: r.pointCoords });
    showMask(this.info, `mask #${id}`, rows, { id: String(id) });
  }
}

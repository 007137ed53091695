/**
 * The image with its masks: the photo on one canvas, the masks filled in their colours on a second (one canvas pixel
 * per image pixel, drawn straight from the records' RLE with the report's helpers, web/report/render.ts), and a third
 * for the hovered mask's highlight. Hovering shows the mask's id, predicted IoU, stability and area.
 */
import type { MaskRecord } from '../../src/core/index.js';
import { MASK_FILL_ALPHA, maskColour } from '../../src/output/mask-colour.js';
import { el, setChildren } from '../report/dom.js';
import { coord, count, score } from '../report/format.js';
import { drawHighlight, drawOrder, fillMask, lineWidth, markHits } from '../report/render.js';

/** The mask view; `root` goes into the page once. */
export class MaskView {
  readonly root: HTMLElement;
  readonly info = el('aside', { class: 'info', id: 'info' });
  private readonly frame = el('div', { class: 'frame', id: 'frame' });
  private readonly photo = el('canvas', { class: 'photo', id: 'photo' });
  private readonly masks = el('canvas', { class: 'masks', id: 'masks' });
  private readonly hl = el('canvas', { class: 'hl', id: 'hl' });
  private records: MaskRecord[] = [];
  private hit = new Int32Array(0);
  private scratch = new Uint8Array(0);
  private hover = -1;
  private width = 0;
  private height = 0;

  constructor() {
    this.frame.append(this.photo, this.masks, this.hl);
    this.root = el('div', { class: 'body' }, el('div', { class: 'stage', id: 'stage' }, this.frame), this.info);
    this.hl.addEventListener('pointermove', (e) => this.setHover(this.maskAt(e)));
    this.hl.addEventListener('pointerleave', () => this.setHover(-1));
    this.showInfo();
  }

  /** Shows a new photo without masks (while its masks are being generated). */
  showPhoto(bitmap: ImageBitmap): void {
    const { width: W, height: H } = bitmap;
    this.width = W;
    this.height = H;
    for (const c of [this.photo, this.masks, this.hl]) {
      c.width = W;
      c.height = H;
    }
    // As large as the column allows without growing taller than the window, at the image's aspect ratio.
    this.frame.style.aspectRatio = `${W} / ${H}`;
    this.frame.style.width = `min(100%, calc((100vh - 120px) * ${W / H}))`;
    context(this.photo).drawImage(bitmap, 0, 0);
    this.setMasks([]);
  }

  /** Draws `records` (ids from 1 in record order, as in the COCO file) over the photo. */
  setMasks(records: MaskRecord[]): void {
    const W = this.width;
    const H = this.height;
    this.records = records;
    this.hit = new Int32Array(W * H).fill(-1);
    this.scratch = new Uint8Array(W * H);
    this.hover = -1;
    const image = new ImageData(Math.max(1, W), Math.max(1, H));
    // Largest first, so that small masks end up on top (and win the hit map), as in the report and --overlay.
    for (const i of drawOrder(records, records.map((_, k) => k))) {
      markHits(this.hit, records[i].segmentation, i);
      fillMask(image.data, records[i].segmentation, maskColour(i), MASK_FILL_ALPHA);
    }
    if (W > 0 && H > 0) context(this.masks).putImageData(image, 0, 0);
    this.masks.dataset.count = String(records.length);
    this.drawHighlight();
    this.showInfo();
  }

  /** The index of the top mask under the pointer, -1 for none. */
  private maskAt(e: PointerEvent): number {
    const rect = this.hl.getBoundingClientRect();
    const x = Math.floor(((e.clientX - rect.left) * this.width) / rect.width);
    const y = Math.floor(((e.clientY - rect.top) * this.height) / rect.height);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return -1;
    return this.hit[y * this.width + x];
  }

  private setHover(i: number): void {
    if (i === this.hover) return;
    this.hover = i;
    this.drawHighlight();
    this.showInfo();
  }

  /** A white wash and a black-and-white border over the hovered mask, drawn into its box only. */
  private drawHighlight(): void {
    const ctx = context(this.hl);
    ctx.clearRect(0, 0, this.width, this.height);
    const r = this.records[this.hover];
    if (r === undefined) return;
    drawHighlight(ctx, this.width, this.height, r.segmentation, r.bbox, lineWidth(this.width, this.frame.clientWidth), this.scratch);
  }

  private showInfo(): void {
    const r = this.records[this.hover];
    this.info.dataset.id = r === undefined ? '' : String(this.hover + 1);
    if (r === undefined) {
      const hint = this.records.length > 0 ? 'Hover a mask to see its record.' : 'Masks appear here after a run.';
      setChildren(this.info, el('p', { class: 'hint' }, hint));
      return;
    }
    const rows: [string, string][] = [
      ['id', String(this.hover + 1)],
      ['predicted_iou', score(r.predictedIou)],
      ['stability_score', score(r.stabilityScore)],
      ['area', count(r.area)],
      ['bbox', `[${r.bbox.map(coord).join(', ')}]`],
      ['point', `(${r.pointCoords.map(coord).join(', ')})`],
      ['crop_box', `[${r.cropBox.map(coord).join(', ')}]`],
    ];
    setChildren(
      this.info,
      el('h3', {}, `mask #${this.hover + 1}`),
      el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-field': k }, v)])),
    );
  }
}

function context(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = c.getContext('2d');
  if (ctx === null) throw new Error('no 2D canvas');
  return ctx;
}

/**
 * Exact boundary tracing of a bitmap window along pixel edges ("crack following").
 *
 * Every boundary edge is walked once with the mask on its right as seen on a y-down screen, so outer boundaries come
 * out with a positive shoelace area and hole boundaries with a negative one. Only corners become vertices (collinear
 * points never appear). Connectivity: the mask is 8-connected and the background 4-connected, so at a pinch vertex
 * — two mask pixels touching only at a corner, the other two background — the walk turns towards the background
 * corner, which keeps the two mask pixels in one part. A boundary that comes back to a pinch vertex it has already
 * passed is cut there into two loops, so every ring is simple; loops of one boundary touch only at that vertex.
 */
import type { MaskWindow } from './window.js';

/** One simple ring from the tracer, in mask coordinates, with the pixels on its two sides. */
export interface TracedRing {
  ring: Int32Array;
  /** Window index (j·w + i) of a mask pixel on the ring's right (inside for outer rings). */
  maskPixel: number;
  /** Centre of a background pixel on the ring's left, in mask coordinates (inside the hole for holes). */
  bgX: number;
  bgY: number;
}

// Headings on a y-down screen: 0 east, 1 south, 2 west, 3 north.
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];

/** Traces every boundary ring of the window (whose one-pixel border must be empty), in raster order of start edge. */
export function traceRings(win: MaskWindow): TracedRing[] {
  const { w, h, bits } = win;
  const stride = w + 1;
  // visitedEast[y·(w+1) + x]: the eastward edge leaving vertex (x, y) was walked. Every ring has one, so these
  // marks are enough to start each ring exactly once.
  const visitedEast = new Uint8Array(stride * (h + 1));
  const rings: TracedRing[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  const pinchIndex = new Map<number, number>();

  const px = (x: number, y: number): number => bits[y * w + x];
  const isPinch = (x: number, y: number): boolean => {
    const a = px(x - 1, y - 1);
    return a === px(x, y) && px(x, y - 1) === px(x - 1, y) && a !== px(x, y - 1);
  };
  const emit = (from: number): void => {
    const n = xs.length - from;
    const ring = new Int32Array(2 * n);
    for (let k = 0; k < n; k++) {
      ring[2 * k] = xs[from + k] + win.x0;
      ring[2 * k + 1] = ys[from + k] + win.y0;
    }
    rings.push(describe(ring, win));
  };

  for (let sy = 1; sy < h - 1; sy++) {
    for (let sx = 1; sx < w - 1; sx++) {
      if (px(sx, sy) === 0 || px(sx, sy - 1) !== 0 || visitedEast[sy * stride + sx]) continue;
      xs.length = 0;
      ys.length = 0;
      pinchIndex.clear();
      // The first top edge in raster order always starts at a corner (the edge before it is not eastward).
      xs.push(sx);
      ys.push(sy);
      if (isPinch(sx, sy)) pinchIndex.set(sy * stride + sx, 0);
      let x = sx;
      let y = sy;
      let d = 0;
      for (;;) {
        if (d === 0) visitedEast[y * stride + x] = 1;
        x += DX[d];
        y += DY[d];
        const nd = nextHeading(bits, w, x, y, d);
        if (x === sx && y === sy && nd === 0) break;
        if (nd !== d) {
          const key = y * stride + x;
          const seen = isPinch(x, y) ? pinchIndex.get(key) : undefined;
          if (seen === undefined) {
            if (isPinch(x, y)) pinchIndex.set(key, xs.length);
            xs.push(x);
            ys.push(y);
          } else {
            // Back at a pinch vertex of this ring: the vertices since its first visit close a loop of their own.
            emit(seen);
            xs.length = seen + 1;
            ys.length = seen + 1;
          }
        }
        d = nd;
      }
      emit(0);
    }
  }
  return rings;
}

/**
 * Heading after vertex (x, y) reached going `d`, mask on the right: turn left if the pixel ahead-left is set (this
 * is also the pinch rule), go straight if only the one ahead-right is set, else turn right.
 */
function nextHeading(bits: Uint8Array, w: number, x: number, y: number, d: number): number {
  let al: number;
  let ar: number;
  switch (d) {
    case 0:
      al = bits[(y - 1) * w + x];
      ar = bits[y * w + x];
      break;
    case 1:
      al = bits[y * w + x];
      ar = bits[y * w + x - 1];
      break;
    case 2:
      al = bits[y * w + x - 1];
      ar = bits[(y - 1) * w + x - 1];
      break;
    default:
      al = bits[(y - 1) * w + x - 1];
      ar = bits[(y - 1) * w + x];
  }
  if (al) return (d + 3) & 3;
  if (ar) return d;
  return (d + 1) & 3;
}

/** Finds the pixels on both sides of a ring's first edge (window coordinates from the mask ones). */
function describe(ring: Int32Array, win: MaskWindow): TracedRing {
  const x = ring[0] - win.x0;
  const y = ring[1] - win.y0;
  const nx = ring[2] - win.x0;
  const ny = ring[3] - win.y0;
  // Mask pixel on the right and background pixel on the left of the first unit step.
  let mx: number;
  let my: number;
  let bx: number;
  let by: number;
  if (nx > x) {
    [mx, my, bx, by] = [x, y, x, y - 1];
  } else if (ny > y) {
    [mx, my, bx, by] = [x - 1, y, x, y];
  } else if (nx < x) {
    [mx, my, bx, by] = [x - 1, y - 1, x - 1, y];
  } else {
    [mx, my, bx, by] = [x, y - 1, x - 1, y - 1];
  }
  return { ring, maskPixel: my * win.w + mx, bgX: bx + win.x0 + 0.5, bgY: by + win.y0 + 0.5 };
}

/** Test images for tiled runs: many small objects, so that most tiles hold whole ones. */

/** A w×h RGB image: flat background with small coloured squares (20–49 px, at most half the short side). */
export function spotsRaw(w: number, h: number, seed: number): Buffer {
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set([40, 60, 90], i * 3);
  let x = seed >>> 0;
  const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let k = 0; k < (w * h) / 4000; k++) {
    const s = Math.min(20 + Math.floor(rnd() * 30), Math.floor(Math.min(w, h) / 2));
    const x0 = Math.floor(rnd() * (w - s));
    const y0 = Math.floor(rnd() * (h - s));
    const c = [Math.floor(rnd() * 256), Math.floor(rnd() * 256), 200];
    for (let y = y0; y < y0 + s; y++) for (let xx = x0; xx < x0 + s; xx++) data.set(c, (y * w + xx) * 3);
  }
  return data;
}

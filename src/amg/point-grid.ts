/**
 * Prompt grids (amg-reference.md, "The point grid").
 */

/** numpy.linspace(start, stop, n) in float64, last value set to stop exactly. */
function linspace(start: number, stop: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + start;
  out[n - 1] = stop;
  return out;
}

/**
 * An n×n grid of normalised (x, y) points as interleaved pairs, y in the outer loop (row-major).
 * n = 1 gives the single point (0.5, 0.5).
 */
export function buildPointGrid(n: number): Float64Array {
  const offset = 1 / (2 * n);
  const side = linspace(offset, 1 - offset, n);
  const grid = new Float64Array(n * n * 2);
  let k = 0;
  for (let iy = 0; iy < n; iy++) {
    for (let ix = 0; ix < n; ix++) {
      grid[k++] = side[ix];
      grid[k++] = side[iy];
    }
  }
  return grid;
}

/** One grid per crop layer: layer i uses int(n / factor^i) points per side. */
export function buildLayerGrids(pointsPerSide: number, nLayers: number, downscaleFactor: number): Float64Array[] {
  const grids: Float64Array[] = [];
  for (let i = 0; i <= nLayers; i++) {
    grids.push(buildPointGrid(Math.trunc(pointsPerSide / downscaleFactor ** i)));
  }
  return grids;
}

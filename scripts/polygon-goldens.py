#!/usr/bin/env python3
"""Golden data for test/polygon-opencv.test.ts, made with OpenCV, independently of src/polygon.

Run once with Debian's Python (apt-get install -y python3-opencv) and commit the output:

    /usr/bin/python3 scripts/polygon-goldens.py > test/golden/polygon-opencv.json

For each small synthetic mask it records what OpenCV says about its topology, with the same connectivity the
polygon module uses (mask 8-connected, background 4-connected):

- parts: pixel counts of the 8-connected mask components (connectedComponentsWithStats, connectivity 8), sorted;
- holes: for each 4-connected background component that does not reach the image border (connectivity 4), its
  pixel count and the pixel count of the part around it, sorted;
- contours: numbers of outer and hole borders from findContours(RETR_CCOMP, CHAIN_APPROX_NONE), which must match
  the part and hole counts;
- filled: the mask with its holes filled, the union of fillPoly over each outer border, checked here against a 4-connected
  flood fill of the background from outside.
"""
import json

import cv2
import numpy as np

ART = {
    "single-pixel": ["#"],
    "line-h": ["#######"],
    "line-v": ["#", "#", "#", "#"],
    "diagonal": ["#...", ".#..", "..#.", "...#"],
    "anti-diagonal": ["...#", "..#.", ".#..", "#..."],
    "pinch-two-squares": ["##..", "##..", "..##", "..##"],
    "pinch-mirror": ["..##", "..##", "##..", "##.."],
    "ring": ["#####", "#...#", "#...#", "#####"],
    "ring-one-hole-pixel": ["###", "#.#", "###"],
    "diamond-hole": ["..#..", ".#.#.", "#...#", ".#.#.", "..#.."],
    "diamond-hole-1px": [".#.", "#.#", ".#."],
    "hole-touching-outer-at-corner": ["#####", "#.###", "##..#", "#####"],
    "two-holes-touching": ["#####", "#.###", "##.##", "#####"],
    "island-in-hole": ["#######", "#.....#", "#.###.#", "#.#.#.#", "#.###.#", "#.....#", "#######"],
    "island-pinched-to-wall": ["#####", "#...#", "#.#.#", "#..##", "#####"],
    "spur-into-hole": ["#######", "##....#", "#.#...#", "#..#..#", "#.....#", "#######"],
    "checker": ["#.#.#", ".#.#.", "#.#.#", ".#.#."],
    "comb": ["#.#.#.#", "#######", "#.#.#.#"],
    "spiral": ["#######", "......#", "#####.#", "#...#.#", "#.###.#", "#.....#", "#######"],
    "u-shape": ["#...#", "#...#", "#...#", "#####"],
    "staircase": ["#....", "##...", "###..", "####.", "#####"],
    "plus": [".#.", "###", ".#."],
    "x-shape": ["#...#", ".#.#.", "..#..", ".#.#.", "#...#"],
    "touching-border": ["###..", "#.#..", "###..", "....."],
}


def random_masks():
    rng = np.random.RandomState(23)
    out = {}
    for k, density in enumerate([0.35, 0.5, 0.65]):
        m = (rng.random_sample((12, 14)) < density).astype(np.uint8)
        out[f"random-{k}"] = ["".join("#" if v else "." for v in row) for row in m]
    return out


def analyse(rows):
    m = np.array([[1 if c == "#" else 0 for c in r] for r in rows], dtype=np.uint8)
    h, w = m.shape
    pad = np.pad(m, 1)
    nparts, plabels, pstats, _ = cv2.connectedComponentsWithStats(pad, connectivity=8)
    part_area = {k: int(pstats[k, cv2.CC_STAT_AREA]) for k in range(1, nparts)}
    bg = (1 - pad).astype(np.uint8)
    nbg, blabels, bstats, _ = cv2.connectedComponentsWithStats(bg, connectivity=4)
    outside = blabels[0, 0]
    holes = []
    for k in range(1, nbg):
        if k == outside:
            continue
        ys, xs = np.nonzero(blabels == k)
        # The part around the hole: the mask pixel just above the hole's first (top-left) pixel.
        y, x = ys[0], xs[0]
        holes.append([int(bstats[k, cv2.CC_STAT_AREA]), part_area[int(plabels[y - 1, x])]])
    contours, hierarchy = cv2.findContours(pad.copy(), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    outer = [c for c, hh in zip(contours, hierarchy[0]) if hh[3] < 0]
    inner = [c for c, hh in zip(contours, hierarchy[0]) if hh[3] >= 0]
    filled = np.zeros_like(pad)
    for c in outer:
        # One call per border: fillPoly over several polygons is even-odd, which would cut islands out of holes.
        one = np.zeros_like(pad)
        cv2.fillPoly(one, [c], 1)
        filled |= one
    # Independent check of the fill: everything the outside background cannot reach 4-connectedly.
    flood = bg.copy()
    ff_mask = np.zeros((h + 4, w + 4), dtype=np.uint8)
    cv2.floodFill(flood, ff_mask, (0, 0), 2, flags=4)
    assert np.array_equal(filled, (flood != 2).astype(np.uint8)), rows
    assert len(outer) == nparts - 1, rows
    assert len(inner) == len(holes), rows
    filled = filled[1:-1, 1:-1]
    return {
        "rows": list(rows),
        "parts": sorted(part_area.values()),
        "holes": sorted(holes),
        "contours": {"outer": len(outer), "hole": len(inner)},
        "filled": ["".join("#" if v else "." for v in row) for row in filled],
    }


def main():
    masks = dict(ART)
    masks.update(random_masks())
    doc = {
        "generator": "scripts/polygon-goldens.py",
        "opencv": cv2.__version__,
        "masks": {name: analyse(rows) for name, rows in masks.items()},
    }
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()

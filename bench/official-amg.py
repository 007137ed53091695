"""The official SamAutomaticMaskGenerator on ../shared/perf/export_vitb.py's seeded ViT-B (torch.manual_seed(0)),
for docs/performance.md's comparison with the original on the same machine.

    SEGMENT_ANYTHING=/path/to/segment-anything /usr/bin/python3 bench/official-amg.py ../shared/images/truck.jpg

Needs Debian's python3-torch and python3-opencv and a checkout of facebookresearch/segment-anything (its
`segment_anything` package is imported from SEGMENT_ANYTHING). Prints one JSON line: the generator's wall time with
the bench's options (32×32 grid, 64 points per batch, the reference defaults otherwise), a second encoder run alone,
the mask count and the process's peak RSS.
"""
import json, os, resource, sys, time

sys.path.insert(0, os.environ.get("SEGMENT_ANYTHING", "segment-anything"))
sys.path.insert(0, os.environ.get("PERF", "../shared/perf"))
import cv2, torch  # noqa: E402
from export_vitb import build  # noqa: E402
from segment_anything import SamAutomaticMaskGenerator  # noqa: E402

threads = int(os.environ.get("THREADS", "2"))
points = int(os.environ.get("POINTS_PER_SIDE", "32"))
torch.set_num_threads(threads)
image = cv2.cvtColor(cv2.imread(sys.argv[1]), cv2.COLOR_BGR2RGB)
sam = build()
generator = SamAutomaticMaskGenerator(sam, points_per_side=points, points_per_batch=64)
start = time.time()
with torch.no_grad():
    masks = generator.generate(image)
wall = time.time() - start
start = time.time()
with torch.no_grad():
    generator.predictor.set_image(image)
encoder = time.time() - start
print(json.dumps({
    "threads": torch.get_num_threads(), "points_per_side": points, "wall_s": round(wall, 2),
    "encoder_s": round(encoder, 2), "masks": len(masks),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
}))

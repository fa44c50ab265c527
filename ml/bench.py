"""Speed and memory of the served model beside the prototype's: ``python -m ml.bench``.

Each model runs in a fresh process of its own, so cold start and memory are its alone:
cold start is the time from launching the process to its first prediction; latency is
decode + preprocess + forward of one in-memory file; throughput counts decode too.
The prototype (the Flask app's 128x128 RGB Sequential CNN, 12.9 M parameters) is rebuilt
with untrained weights in Keras, as it was served; that is enough for speed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ml.data import DEFAULT_DATA, IMAGE_SUFFIXES

PUBLISHED = {"single_ms": 1200.0, "images_per_s": 7.0}  # the prototype's own claims


def sample_files(root: Path, n: int) -> list[str]:
    files = sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SystemExit(f"no images under {root}")
    step = max(1, len(files) // n)
    return files[::step][:n]


def worker(kind: str, files: list[str], launched: float) -> dict:
    blobs = [Path(f).read_bytes() for f in files]
    clf = None
    if kind == "ours" or kind.startswith("dir:"):
        from ml.infer import Classifier, get_classifier

        clf = get_classifier() if kind == "ours" else Classifier(Path(kind[4:]))

        def run(batch: list[bytes]) -> None:
            for r in clf.classify_files(batch):
                if isinstance(r, BaseException):
                    raise r
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from concurrent.futures import ThreadPoolExecutor

        from PIL import Image

        from ml.model import build_prototype

        model = build_prototype()
        pool = ThreadPoolExecutor(2)

        def decode(b: bytes) -> np.ndarray:
            img = Image.open(io.BytesIO(b)).convert("RGB").resize((128, 128))
            return np.asarray(img, np.float32) / 255.0

        def run(batch: list[bytes]) -> None:
            x = np.stack(list(pool.map(decode, batch)))
            model.predict_on_batch(x)

    run(blobs[:1])
    cold = time.time() - launched
    for _ in range(5):
        run(blobs[:1])
    lat = []
    for b in blobs[:200]:
        t = time.perf_counter()
        run([b])
        lat.append((time.perf_counter() - t) * 1000)
    throughput = {}
    for bs in (1, 32, 64):
        run(blobs[:bs])
        n, t = 0, time.perf_counter()
        while n < 512 or time.perf_counter() - t < 2.0:
            start = n % max(len(blobs) - bs, 1)
            run(blobs[start:start + bs])
            n += bs
        throughput[bs] = n / (time.perf_counter() - t)
    heat_ms = heat_map_cost(clf, blobs) if clf else None
    return {"cold_start_s": cold, "heatmap_extra_ms": heat_ms, "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)),
            "images_per_s": throughput, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def heat_map_cost(clf, blobs: list[bytes]) -> float:
    """Extra milliseconds per image for a class-activation map, batches of 32 decoded images."""
    from ml.preprocess import load_image

    images = [load_image(b) for b in blobs[:32]]
    timings = {False: [], True: []}
    for _ in range(5):
        for heat in (False, True):
            t = time.perf_counter()
            clf.classify(images, heatmaps=heat)
            timings[heat].append((time.perf_counter() - t) * 1000 / len(images))
    return float(np.median(timings[True]) - np.median(timings[False]))


def measure(kind: str, files: list[str]) -> dict:
    launched = time.time()
    out = subprocess.run([sys.executable, "-m", "ml.bench", "--worker", kind, "--launched", repr(launched),
                          "--files", json.dumps(files)], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{kind} worker failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def update_card(results: dict) -> None:
    from ml.card import write_markdown
    from ml.infer import MODEL_DIR
    from ml.versions import record_card

    ours, proto = results["ours"], results.get("prototype")

    def both(key: str, fmt: str) -> str:
        text = fmt.format(ours[key])
        return text + (f" (prototype {fmt.format(proto[key])})" if proto else "")

    speed = {
        "cold start, new process to first prediction": both("cold_start_s", "{:.2f} s"),
        "single image p50 / p95, decode included": f"{ours['p50_ms']:.2f} / {ours['p95_ms']:.2f} ms"
        + (f" (prototype {proto['p50_ms']:.1f} / {proto['p95_ms']:.1f} ms)" if proto else ""),
        **{f"images/s at batch {bs}, decode included": f"{ours['images_per_s'][bs]:.0f}"
           + (f" (prototype {proto['images_per_s'][bs]:.0f})" if proto else "") for bs in ("1", "32", "64")},
        "peak resident memory": both("peak_rss_mb", "{:.0f} MB"),
        "machine load average at the end (2 cores; above 2 means other work shared them)":
            f"{os.getloadavg()[0]:.1f}",
    }
    path = MODEL_DIR / "card.json"
    card = json.loads(path.read_text())
    card["speed"] = speed
    load = round(os.getloadavg()[0], 1)
    #  Every model of the run, the served one included, as numbers: the model page compares them.
    measured = {card["version"]: ours, **results.get("compare", {})}
    card["speed_compared"] = {v: {"p50_ms": round(r["p50_ms"], 2), "images_per_s_batch_64": round(r["images_per_s"]["64"]),
                                  "cold_start_s": round(r["cold_start_s"], 2), "peak_rss_mb": round(r["peak_rss_mb"]),
                                  "load_average": load}
                              for v, r in measured.items()}
    path.write_text(json.dumps(card, indent=2) + "\n")
    write_markdown(card, MODEL_DIR / "MODEL_CARD.md")
    record_card(MODEL_DIR)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark the served model against the prototype's architecture.")
    p.add_argument("--images", type=Path, default=DEFAULT_DATA, help="folder of sample images (any depth)")
    p.add_argument("-n", type=int, default=256, help="number of sample images")
    p.add_argument("--skip-prototype", action="store_true", help="do not build the prototype (needs TensorFlow)")
    p.add_argument("--compare", type=Path, nargs="*", default=[],
                   help="other model folders (e.g. ml/model/archive/<version>, a new export) measured in the same run")
    p.add_argument("--json", action="store_true")
    p.add_argument("--update-card", action="store_true", help="write the figures into ml/model's card")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    p.add_argument("--files", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, json.loads(args.files), args.launched)))
        return 0
    files = sample_files(args.images, args.n)
    if not args.json:
        print(f"{len(files)} sample images from {args.images}; {os.cpu_count()} CPU cores", flush=True)
    results = {"ours": measure("ours", files)}
    others = {}
    for folder in args.compare:
        version = json.loads((folder / "card.json").read_text())["version"]
        others[version] = measure(f"dir:{folder.resolve()}", files)
    if others:
        results["compare"] = others
    if not args.skip_prototype:
        results["prototype"] = measure("prototype", files)
    if args.update_card:
        update_card(results)
    if args.json:
        print(json.dumps(results))
        return 0
    ours, proto = results["ours"], results.get("prototype")
    rows = [("cold start (s)", "cold_start_s", False), ("single image p50 (ms)", "p50_ms", False),
            ("single image p95 (ms)", "p95_ms", False), ("peak memory (MB)", "peak_rss_mb", False)]
    print(f"{'figure':28s} {'NeuroLens':>10s} {'prototype':>10s} {'ratio':>8s}")
    for label, key, _ in rows:
        o, pr = ours[key], proto[key] if proto else None
        print(f"{label:28s} {o:10.3f} " + (f"{pr:10.3f} {pr / o:7.1f}x" if pr else ""))
    for bs in ("1", "32", "64"):
        o = ours["images_per_s"][bs]
        pr = proto["images_per_s"][bs] if proto else None
        print(f"{'images/s at batch ' + bs:28s} {o:10.1f} " + (f"{pr:10.1f} {o / pr:7.1f}x" if pr else ""))
    print(f"{'heat map, extra per image (ms)':28s} {ours['heatmap_extra_ms']:10.3f}")
    if others:
        from ml.infer import get_classifier

        names = [get_classifier().version, *others]
        cols = [ours, *others.values()]
        print("\nmodels side by side, same run:\n" + f"{'figure':28s} " + " ".join(f"{n[-12:]:>12s}" for n in names))
        for label, key, _ in rows:
            print(f"{label:28s} " + " ".join(f"{c[key]:12.3f}" for c in cols))
        for bs in ("1", "32", "64"):
            print(f"{'images/s at batch ' + bs:28s} " + " ".join(f"{c['images_per_s'][bs]:12.1f}" for c in cols))
    print(f"\nagainst the prototype's published figures: single image {PUBLISHED['single_ms'] / ours['p50_ms']:.0f}x "
          f"faster (1.2 s), throughput {ours['images_per_s']['64'] / PUBLISHED['images_per_s']:.0f}x (7 images/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

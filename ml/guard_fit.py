"""Fit and validate the out-of-scope guard for one served model: ``python -m ml.guard_fit``.

1. Runs the served LiteRT model over every slice of the split and over every negative source
   of ``ml.negatives`` (pooled features), and measures each picture (``ml.guard``).
2. Leave-one-source-out: for each negative source, a guard fitted on the training slices and
   every other source scores that source's pictures; the share flagged is the honest
   estimate for kinds of picture nobody thought of.
3. Fits the served guard on everything, with its threshold set on a fifth of the training
   slices held out of the fit, and measures it on the validation slices (false refusals) and on
   a fresh draw of every source.
4. Writes ``guard.npz`` and ``guard.json`` (the figures, for the model card) to the model folder.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ml import guard as guard_module
from ml.data import CACHE_DIR, DEFAULT_DATA, MANIFEST, collection_of, load_pixels, not_mri, read_manifest
from ml.guard import Guard, colourfulness, fit_guard, guard_inputs
from ml.negatives import SOURCES, make
from ml.preprocess import load_image, to_pixels

MODEL_DIR = Path(__file__).resolve().parent / "model"
#  The threshold lets through this share of the held-out training slices. Measured with 1.2.1's
#  network (leave one source out, then validation slices): at the 99.8th percentile 95.4% of the
#  left-out pictures were flagged and 0.12% of validation slices; at the 99th, with 64 hidden units,
#  the threshold falls to its floor of 0.5 and the figures are 97.3% and 0.18% (the goal: >= 99% and
#  < 0.5%). A refused slice costs the clinician a look at a message; a passed photograph gets a
#  tumour class. With the collections' brain CT moved from the MRI slices to the negatives
#  (1.2.3), the 99th percentile refused 1.2% of validation slices (sagittal and coronal T1 with a
#  bright scalp, mostly copies of a few slices) and 93% of the validation split's CT; the 99.5th
#  (threshold 0.65) refuses 0.54% and still 93%, at 96.3% of left-out pictures against 96.8%.
MRI_FLAG_QUANTILE = 0.995
HIDDEN = 64  # 32 units: 96.9% at the 99th percentile
#  The brain CT slices filed among the collections' MRI (``ml.data.not_mri``) are a negative
#  source of their own; the training split's are fitted on, the validation split's only scored.
COLLECTION_CT = "collection-ct"
#  Sources of one modality are left out together: a guard that saw the packaged CT frames
#  would overstate how it meets brain CT it never saw, and the other way round.
LEFT_OUT_TOGETHER = {"dicom-ct": {"dicom-ct", COLLECTION_CT}, COLLECTION_CT: {"dicom-ct", COLLECTION_CT}}


def _digest(*parts: bytes) -> str:
    import hashlib

    return hashlib.sha256(b"".join(parts)).hexdigest()[:16]


def _cached(name: str, key: str, make):
    """``make()`` (a dict of arrays), kept under .cache/ by ``key``."""
    path = CACHE_DIR / f"guard-{name}-{key}.npz"
    if path.exists():
        z = np.load(path)
        return {k: z[k] for k in z.files}
    out = make()
    CACHE_DIR.mkdir(exist_ok=True)
    np.savez(path, **out)
    return out


def pooled_features(model_path: Path, pixels: np.ndarray) -> np.ndarray:
    """The model's pooled last feature maps for uint8 inputs (cached by model file and pixels)."""
    from ml.export import run_tflite

    key = _digest(model_path.read_bytes(), pixels.tobytes())
    return _cached("pooled", key, lambda: {"pooled": run_tflite(model_path, pixels)[1]})["pooled"]


def negative_set(seed: int, scale: float = 1.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """source -> (uint8 model inputs, colourfulness) for one draw of every source (cached by the code)."""
    from ml import negatives

    def make_all():
        out = {}
        for name, (_, n) in SOURCES.items():
            images = make(name, max(8, int(n * scale)), seed=seed)
            if images:
                out[f"{name}:pixels"] = np.stack([to_pixels(im) for im in images])
                out[f"{name}:colour"] = np.array([colourfulness(im) for im in images])
        return out

    key = _digest(Path(negatives.__file__).read_bytes(), inspect.getsource(colourfulness).encode(),
                  f"{seed}:{scale}".encode())
    z = _cached("negatives", key, make_all)
    names = [k.split(":")[0] for k in z if k.endswith(":pixels")]
    return {s: (z[f"{s}:pixels"], z[f"{s}:colour"]) for s in names}


def all_features(model_path: Path, data: Path, examples) -> tuple[np.ndarray, dict, dict]:
    """Guard inputs of every slice, of every source's training draw and of a fresh draw."""
    pixels = load_pixels(data, examples, progress=False)

    def colours():
        with ThreadPoolExecutor(4) as pool:
            return {"colour": np.array(list(pool.map(lambda e: colourfulness(load_image(data / e.path)), examples)))}

    key = _digest("|".join(e.path for e in examples).encode(), inspect.getsource(colourfulness).encode())
    colour = _cached("colour", key, colours)["colour"]
    mri_x = guard_inputs(pooled_features(model_path, pixels), pixels, colour)

    def features(draw):
        return {s: guard_inputs(pooled_features(model_path, px), px, c) for s, (px, c) in draw.items()}

    return mri_x, features(negative_set(seed=0)), features(negative_set(seed=1, scale=0.5))


def inputs_key(model_path: Path, examples) -> str:
    """Names what a fitted guard depends on: the model file, the code of the guard, of the
    negatives and of this module, and the split."""
    from ml import negatives

    return _digest(model_path.read_bytes(), Path(negatives.__file__).read_bytes(),
                   Path(guard_module.__file__).read_bytes(), Path(__file__).read_bytes(),
                   "|".join(f"{e.path}:{e.split}" for e in examples).encode())


def varied_slices(pixels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each slice once more, as another scanner or viewer might show it: another contrast curve,
    a lifted (gray) background, lower resolution or blur, noise, a small turn, zoom or shift.

    The classifier has learned its own training slices by heart, so their features are tighter
    than those of slices it never saw; varied copies let the guard learn what MRI slices in
    general look like to the network, not just the ones it was trained on.
    """
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    out = np.empty_like(pixels)
    size = pixels.shape[1]
    for i, px in enumerate(pixels):
        x = px.astype(np.float32) / 255
        x = x ** np.exp(rng.uniform(-0.5, 0.5)) * rng.uniform(0.75, 1.15)
        if rng.random() < 0.35:  # a gray background, as some FLAIR and DWI exports have
            lift = rng.uniform(0.05, 0.3)
            x = lift + (1 - lift) * x
        img = Image.fromarray((np.clip(x, 0, 1) * 255).astype(np.uint8))
        if rng.random() < 0.35:  # low resolution (diffusion-weighted images are often 128 px or less)
            small = int(size * rng.uniform(0.3, 0.8))
            img = img.resize((small, small), Image.Resampling.BILINEAR).resize((size, size), Image.Resampling.BILINEAR)
        elif rng.random() < 0.3:
            img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
        zoom = rng.uniform(0.8, 1.15)
        img = img.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BILINEAR,
                         translate=tuple(rng.uniform(-0.06, 0.06, 2) * size))
        side = int(size / zoom)
        canvas = Image.new("L", (max(side, size), max(side, size)), 0)
        canvas.paste(img, ((canvas.width - size) // 2, (canvas.height - size) // 2))
        left = (canvas.width - side) // 2
        img = canvas.crop((left, left, left + side, left + side)).resize((size, size), Image.Resampling.BILINEAR)
        x = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(0, 6), (size, size))
        out[i] = np.clip(x, 0, 255).astype(np.uint8)
    return out


def varied_features(model_path: Path, pixels: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Guard inputs of one varied copy of each slice in ``rows`` (the copies cached by the code)."""
    key = _digest(inspect.getsource(varied_slices).encode(), rows.tobytes())
    varied = _cached("varied", key, lambda: {"pixels": varied_slices(pixels[rows])})["pixels"]
    return guard_inputs(pooled_features(model_path, varied), varied, np.zeros(len(varied)))


def varied_negatives(model_path: Path, sources: list[str]) -> dict[str, np.ndarray]:
    """Guard inputs of one varied copy (``varied_slices``) of every source's training draw."""
    out = {}
    for s, (px, colour) in negative_set(seed=0).items():
        if s in sources:
            key = _digest(inspect.getsource(varied_slices).encode(), px.tobytes())
            varied = _cached("varied", key, lambda px=px: {"pixels": varied_slices(px, seed=1)})["pixels"]
            out[s] = guard_inputs(pooled_features(model_path, varied), varied, colour)
    return out


def weights_for(y: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Half the weight on MRI slices, half on negatives shared equally between sources."""
    w = np.zeros(len(y))
    w[y == 0] = 0.5 / max((y == 0).sum(), 1)
    names = sorted(set(source[y == 1].tolist()))
    for s in names:
        sel = (y == 1) & (source == s)
        w[sel] = 0.5 / len(names) / sel.sum()
    return w


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Fit and validate the learned out-of-scope guard.")
    p.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--hidden", type=int, default=HIDDEN)
    p.add_argument("--l2", type=float, default=1e-3)
    args = p.parse_args(argv)
    fit_and_validate(args.model_dir, args.data, args.hidden, args.l2)
    return 0


def fit_and_validate(model_dir: Path, data: Path = DEFAULT_DATA, hidden: int = HIDDEN, l2: float = 1e-3,
                     reuse: bool = False) -> dict:
    """Fit the guard for the model in ``model_dir``, validate it, write guard.npz and guard.json; the figures.

    With ``reuse``, a guard.json already fitted on the same inputs (``inputs_key``) is kept as it is.
    """
    t0 = time.perf_counter()
    model_path = model_dir / "neurolens.tflite"
    examples = read_manifest(MANIFEST, include_not_mri=True)
    key = inputs_key(model_path, examples)
    done = model_dir / "guard.json"
    if reuse and done.exists() and (model_dir / "guard.npz").exists():
        report = json.loads(done.read_text())
        if report.get("inputs_key") == key and report.get("hidden") == hidden and report.get("l2") == l2:
            print(f"guard already fitted on these inputs ({key}); kept", flush=True)
            return report
    is_ct = np.isin([e.path for e in examples], list(not_mri()))
    is_val = np.array([e.split == "val" for e in examples]) & ~is_ct
    groups = np.array([e.group for e in examples])
    mri_x, neg, fresh = all_features(model_path, data, examples)
    ct_train = np.nonzero(is_ct & ~np.array([e.split == "val" for e in examples]))[0]
    ct_val = np.nonzero(is_ct & np.array([e.split == "val" for e in examples]))[0]
    if len(ct_train):
        neg[COLLECTION_CT] = mri_x[ct_train]
    sources = list(neg)
    print(f"negatives: {', '.join(f'{s} {len(v)}' for s, v in neg.items())}; {time.perf_counter() - t0:.0f} s",
          flush=True)

    #  A fifth of the training slices (by group) is held out of fitting to set the threshold;
    #  every training slice also gives one varied copy (``varied_slices``).
    train_rows = np.nonzero(~is_val & ~is_ct)[0]
    all_pixels = load_pixels(data, examples, progress=False)
    varied = varied_features(model_path, all_pixels, train_rows)
    calib = groups[train_rows] % 5 == 0
    fit_x = np.concatenate([mri_x[train_rows[~calib]], varied[~calib]])
    calib_x = np.concatenate([mri_x[train_rows[calib]], varied[calib]])
    #  Every non-MRI picture also gives one copy varied the same way, so that a gray background,
    #  blur or low resolution never passes for a sign of an MRI slice.
    neg_varied = varied_negatives(model_path, sources)
    if len(ct_train):
        neg_varied[COLLECTION_CT] = varied_features(model_path, all_pixels, ct_train)
    neg_x = np.concatenate([np.concatenate([neg[s], neg_varied[s]]) for s in sources])
    neg_src = np.concatenate([[s] * (len(neg[s]) + len(neg_varied[s])) for s in sources])

    def fit(exclude: str | None = None) -> Guard:
        keep = ~np.isin(neg_src, list(LEFT_OUT_TOGETHER.get(exclude, {exclude})))
        x = np.concatenate([fit_x, neg_x[keep]])
        y = np.concatenate([np.zeros(len(fit_x)), np.ones(keep.sum())])
        src = np.concatenate([np.array(["mri"] * len(fit_x)), neg_src[keep]])
        g = fit_guard(x, y, weights_for(y, src), hidden=hidden, l2=l2)
        g.threshold = float(max(0.5, np.quantile(g.score(calib_x), MRI_FLAG_QUANTILE)))
        return g

    guard = fit()
    threshold = guard.threshold
    val_flag = guard.score(mri_x[is_val]) > threshold
    colls = np.array([collection_of(e.path) for e in examples])[is_val]
    val_ct_flag = guard.score(mri_x[ct_val]) > threshold if len(ct_val) else np.zeros(0, bool)
    print(f"served guard: threshold {threshold:.3f}, validation slices flagged {val_flag.mean():.4f}, "
          f"validation-split CT slices flagged {val_ct_flag.mean() if len(ct_val) else float('nan'):.4f} of "
          f"{len(ct_val)}; {time.perf_counter() - t0:.0f} s", flush=True)
    loso = {}
    for s in sources:
        g = fit(exclude=s)
        #  The collections' CT is scored whole (both splits), by a guard that saw no CT at all.
        scored = mri_x[np.concatenate([ct_train, ct_val])] if s == COLLECTION_CT else neg[s]
        flagged = g.score(scored) > g.threshold
        loso[s] = {"images": len(scored), "flagged": round(float(flagged.mean()), 4),
                   "threshold": round(g.threshold, 4)}
        print(f"  left out {s:18s} {flagged.mean():7.1%} of {len(scored)} flagged (threshold {g.threshold:.3f}); "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    total = sum(v["images"] for v in loso.values())
    loso_all = sum(v["flagged"] * v["images"] for v in loso.values()) / total
    loso_mean = float(np.mean([v["flagged"] for v in loso.values()]))

    fresh_rate = {s: round(float((guard.score(v) > threshold).mean()), 4) for s, v in fresh.items()}
    if len(ct_val):  # the collections' CT has no fresh draw: its validation split was never fitted on
        fresh_rate[COLLECTION_CT] = round(float(val_ct_flag.mean()), 4)
    report = {
        "method": f"learned guard: a one-hidden-layer network ({hidden} units) on the model's pooled features "
                  "and plain measures of the picture (16-bin histogram, near-black share, mean, spread, mirror "
                  "symmetry, brightness in rings around its centre, edge density, colourfulness); "
                  f"trained on {len(train_rows)} training-split MRI slices and {len(neg_x) // 2} non-MRI pictures of "
                  f"{len(sources)} kinds (among them the training split's {len(ct_train)} brain CT slices filed as MRI in the "
                  "collections), each also once varied (contrast curve, gray background, lower resolution, "
                  "blur, noise, turn, zoom); threshold at the "
                  f"{100 * MRI_FLAG_QUANTILE:.1f}th percentile of the scores of a fifth of the training slices "
                  "(by group) held out of the fit, 0.5 at least",
        "threshold": round(threshold, 4),
        "val_slices_flagged": round(float(val_flag.mean()), 4),
        "val_slices_flagged_by_collection": {c: round(float(val_flag[colls == c].mean()), 4)
                                             for c in sorted(set(colls.tolist()))},
        "collection_ct": {"listed": int(is_ct.sum()), "fitted_on": len(ct_train), "validation_split": len(ct_val),
                          "validation_split_flagged": round(float(val_ct_flag.mean()), 4) if len(ct_val) else None},
        "leave_one_source_out": loso,
        "leave_one_source_out_flagged": round(float(loso_all), 4),
        "leave_one_source_out_mean_of_sources": round(loso_mean, 4),
        "fresh_draw_flagged": fresh_rate,
        "negative_images": len(neg_x) // 2,
        "inputs_key": key, "hidden": hidden, "l2": l2,
        "positive_images": len(fit_x),
    }
    guard.save(model_dir / "guard.npz")
    (model_dir / "guard.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"validation slices flagged {val_flag.mean():.4f}; leave-one-source-out flagged {loso_all:.4f} "
          f"(mean of sources {loso_mean:.4f}); fresh draw {fresh_rate}; {time.perf_counter() - t0:.0f} s", flush=True)
    return report


if __name__ == "__main__":
    raise SystemExit(main())

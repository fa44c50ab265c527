"""Class-folder data sets, near-duplicate groups and the leakage-free split.

Both collections in ``../shared/datasets`` are full of copies, most of them mirrored or
rotated. Every image gets a perceptual hash (DCT of a 64 px grayscale, 16x16 low
frequencies = 256 bits) under each of the 8 flips and quarter turns; two images whose
smallest Hamming distance is within ``GROUP_DISTANCE`` are linked, and linked images form
one group. A group always lands on one side of the split, so validation never sees a copy
(or a neighbouring slice) of a training image.

``python -m ml.data`` rebuilds the manifest (``ml/splits/manifest.csv``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ml.labels import CLASSES, FOLDER_ALIASES
from ml.preprocess import INPUT_SIZE, PIPELINE, load_image, to_pixels

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
GROUP_DISTANCE = 32  # of 256 bits: same slice <= ~20, neighbouring slices ~22-40
VAL_FRACTION = 0.2
SPLIT_SEED = "neurolens-split-v1"
ROOT = Path(__file__).resolve().parent
DEFAULT_DATA = ROOT.parent.parent / "shared" / "datasets"
MANIFEST = ROOT / "splits" / "manifest.csv"
CACHE_DIR = ROOT.parent / ".cache"


@dataclass(frozen=True)
class Example:
    path: str  # relative to the data root
    label: str
    group: int = -1
    split: str = ""


def class_of_folder(name: str) -> str | None:
    return FOLDER_ALIASES.get(name.lower())


def find_examples(root: Path) -> list[Example]:
    """Every image under ``root`` whose parent folder names a class (either scheme)."""
    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            label = class_of_folder(path.parent.name)
            if label:
                out.append(Example(str(path.relative_to(root)), label))
    return out


def dihedral_phashes(img: Image.Image) -> np.ndarray:
    """256-bit pHash under the 8 flips/rotations, packed: uint64 (8, 4).

    A flip negates every other DCT coefficient and a transpose transposes the block, so
    one DCT gives all eight hashes.
    """
    from scipy.fft import dctn

    gray = np.asarray(img.convert("L").resize((64, 64), Image.Resampling.BOX), np.float32)
    block = dctn(gray, norm="ortho")[:16, :16]
    sign = (-1.0) ** np.arange(16)
    variants = []
    for base in (block, block.T):
        for rows in (False, True):
            for cols in (False, True):
                b = base * (sign[:, None] if rows else 1.0) * (sign[None, :] if cols else 1.0)
                variants.append(b)
    bits = np.stack([(v > np.median(v)).ravel() for v in variants])
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64)


def min_distances(hashes: np.ndarray, rows: slice) -> np.ndarray:
    """Smallest Hamming distance over the 8 variants between hashes[rows] and every hash."""
    a = hashes[rows, 0][:, None, None, :]  # (r, 1, 1, 4)
    d = np.bitwise_count(a ^ hashes[None, :, :, :]).sum(axis=-1, dtype=np.uint16)
    return d.min(axis=-1)  # (r, n)


def group_ids(hashes: np.ndarray, threshold: int = GROUP_DISTANCE) -> np.ndarray:
    """Connected components of the 'within threshold' graph (union-find)."""
    n = len(hashes)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for start in range(0, n, 128):
        d = min_distances(hashes, slice(start, min(start + 128, n)))
        ii, jj = np.nonzero(d <= threshold)
        for i, j in zip(ii + start, jj):
            if j > i:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    return np.array([find(i) for i in range(n)])


def _stable_fraction(key: str) -> float:
    digest = hashlib.sha256(f"{SPLIT_SEED}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def collection_of(path: str) -> str:
    """The collection an image comes from: the first folder of its path under the data root."""
    return path.split("/", 1)[0]


def assign_split(examples: list[Example], groups: np.ndarray) -> list[Example]:
    """Deterministic group split, stratified by class and by collection.

    Every group goes to one side whole. Groups are put into strata by their majority label
    and by which collections they hold copies from (one, the other, or both); within each
    stratum the groups are ordered by a seeded hash of their first path and the first
    VAL_FRACTION of them (rounded, at least one where a stratum has two or more) go to
    validation. So validation holds every class's kinds of slice from both collections in
    the proportions the data have, and the choice depends on neither file order nor on how
    many other groups exist.
    """
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(int(g), []).append(i)
    strata: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for g, idx in members.items():
        label = Counter(examples[i].label for i in idx).most_common(1)[0][0]
        collections = "+".join(sorted({collection_of(examples[i].path) for i in idx}))
        key = min(examples[i].path for i in idx)
        strata.setdefault((label, collections), []).append((_stable_fraction(key), g))
    val_groups: set[int] = set()
    for entries in strata.values():
        entries.sort()
        k = round(len(entries) * VAL_FRACTION)
        if len(entries) >= 2:
            k = max(k, 1)
        val_groups.update(g for _, g in entries[:k])
    out = list(examples)
    for g, idx in members.items():
        split = "val" if g in val_groups else "train"
        for i in idx:
            out[i] = Example(examples[i].path, examples[i].label, g, split)
    return out


def hash_all(root: Path, examples: list[Example], progress=True) -> np.ndarray:
    def one(ex: Example) -> np.ndarray:
        return dihedral_phashes(load_image(root / ex.path))

    out = []
    with ThreadPoolExecutor(4) as pool:
        for k, h in enumerate(pool.map(one, examples), 1):
            out.append(h)
            if progress and (k % 500 == 0 or k == len(examples)):
                print(f"\rhashing {k}/{len(examples)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return np.stack(out)


def write_manifest(examples: list[Example], path: Path = MANIFEST) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "group", "split"])
        for ex in examples:
            w.writerow([ex.path, ex.label, ex.group, ex.split])


def not_mri_list(manifest: Path = MANIFEST) -> Path:
    """The list of the split's images that are not MRI: ``not_mri.csv`` beside the manifest."""
    return manifest.parent / "not_mri.csv"


def not_mri(manifest: Path = MANIFEST) -> dict[str, str]:
    """Images of the collections that are not MRI at all, path -> kind ("CT"), from ``not_mri_list``.

    Brain CT slices are filed among the MRI of both collections, mostly as no tumour but also as
    meningioma and glioma. They were found by eye, a contact sheet at a time, ranked by a small
    model on the served network's features that learnt from each sheet's verdicts, until a
    ranking and a random sample of 96 showed none; a slice left in doubt stayed MRI.
    """
    path = not_mri_list(manifest)
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {r["path"]: r["kind"] for r in csv.DictReader(f)}


def read_manifest(path: Path = MANIFEST, include_not_mri: bool = False) -> list[Example]:
    """The split's examples; images listed in ``not_mri.csv`` beside it are left out (the model is
    trained and measured on MRI only) unless ``include_not_mri``: the guard uses them as negatives."""
    skip = set() if include_not_mri else set(not_mri(path))
    with open(path, newline="") as f:
        return [Example(r["path"], r["label"], int(r["group"]), r["split"]) for r in csv.DictReader(f)
                if r["path"] not in skip]


def load_pixels(root: Path, examples: list[Example], size: int = INPUT_SIZE, progress=True) -> np.ndarray:
    """uint8 (n, size, size) through the serving path, cached under .cache/ by content."""
    key = hashlib.sha256(("|".join(e.path for e in examples) + f"|{size}|{PIPELINE}").encode()).hexdigest()[:16]
    cache = CACHE_DIR / f"pixels-{size}-{key}.npy"
    if cache.exists():
        return np.load(cache)
    out = np.empty((len(examples), size, size), np.uint8)

    def one(i: int) -> None:
        out[i] = to_pixels(load_image(root / examples[i].path), size)

    with ThreadPoolExecutor(4) as pool:
        for k, _ in enumerate(pool.map(one, range(len(examples))), 1):
            if progress and (k % 500 == 0 or k == len(examples)):
                print(f"\rdecoding {k}/{len(examples)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    CACHE_DIR.mkdir(exist_ok=True)
    np.save(cache, out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Group near-duplicates and write the train/val manifest.")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data root (class folders anywhere below)")
    p.add_argument("--out", type=Path, default=MANIFEST)
    p.add_argument("--threshold", type=int, default=GROUP_DISTANCE)
    p.add_argument("--keep-groups", action="store_true",
                   help="reuse the groups of the existing manifest (no re-hashing); only re-split")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    if args.keep_groups:
        examples = read_manifest(args.out)
        groups = np.array([e.group for e in examples])
    else:
        examples = find_examples(args.data)
        hashes = hash_all(args.data, examples)
        groups = group_ids(hashes, args.threshold)
    examples = assign_split(examples, groups)
    write_manifest(examples, args.out)
    sizes = Counter(groups.tolist())
    split_counts = Counter((e.split, e.label) for e in examples)
    print(f"{len(examples)} images, {len(sizes)} groups (largest {max(sizes.values())}), "
          f"{time.perf_counter() - t0:.1f} s")
    for s in ("train", "val"):
        print(s, {c: split_counts[(s, c)] for c in CLASSES})
    by_collection = Counter((e.split, collection_of(e.path), e.label) for e in examples)
    for name in sorted({collection_of(e.path) for e in examples}):
        print(f"val share of {name}:", {c: round(by_collection[("val", name, c)] / max(
            by_collection[("val", name, c)] + by_collection[("train", name, c)], 1), 3) for c in CLASSES})
    mixed = sum(1 for g in sizes if len({examples[i].label for i in np.nonzero(groups == g)[0]}) > 1)
    print(f"groups with conflicting labels: {mixed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

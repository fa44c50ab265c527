import io
from collections import defaultdict

import numpy as np
from PIL import Image

from ml.data import GROUP_DISTANCE, Example, assign_split, dihedral_phashes, group_ids, min_distances


def _slice(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:256, :256]
    img = np.zeros((256, 256))
    for _ in range(6):
        cy, cx, r = rng.integers(60, 196, 2).tolist() + [int(rng.integers(15, 60))]
        img += rng.uniform(60, 200) * (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "L")


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def _distance(a: Image.Image, b: Image.Image) -> int:
    h = np.stack([dihedral_phashes(a), dihedral_phashes(b)])
    return int(min_distances(h, slice(0, 1))[0, 1])


def test_mirrored_rotated_resized_recompressed_copies_are_near():
    img = _slice(0)
    copies = [img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), img.transpose(Image.Transpose.ROTATE_90),
              img.transpose(Image.Transpose.TRANSPOSE), img.resize((180, 180)), _jpeg(img, 40),
              _jpeg(img.transpose(Image.Transpose.FLIP_TOP_BOTTOM).resize((512, 512)), 60)]
    for c in copies:
        assert _distance(img, c) <= 12


def test_different_images_are_far():
    assert min(_distance(_slice(0), _slice(s)) for s in range(1, 8)) > GROUP_DISTANCE


def test_copies_share_a_group_and_the_split_keeps_groups_whole():
    images = [_slice(s) for s in range(12)]
    copies = [im.transpose(Image.Transpose.ROTATE_270) for im in images]
    hashes = np.stack([dihedral_phashes(im) for im in images + copies])
    groups = group_ids(hashes)
    assert all(groups[i] == groups[i + 12] for i in range(12))
    assert len(set(groups.tolist())) == 12
    examples = [Example(f"glioma/{i}.jpg", "glioma") for i in range(24)]
    split = assign_split(examples, groups)
    assert split == assign_split(examples, groups)  # deterministic
    assert all(split[i].split == split[i + 12].split for i in range(12))


def test_the_committed_manifest_never_puts_a_group_on_both_sides(manifest):
    sides = defaultdict(set)
    for ex in manifest:
        sides[ex.group].add(ex.split)
    assert all(len(s) == 1 for s in sides.values())
    val = sum(ex.split == "val" for ex in manifest) / len(manifest)
    assert 0.15 < val < 0.25


def test_no_validation_image_has_a_near_copy_in_training(data_root, manifest):
    """Re-hash a sample of both sides from the files and compare every pair."""
    from ml.preprocess import load_image

    rng = np.random.default_rng(7)
    val = [e for e in manifest if e.split == "val"]
    train = [e for e in manifest if e.split == "train"]
    picked = [val[i] for i in rng.choice(len(val), 120, replace=False)]
    picked += [train[i] for i in rng.choice(len(train), 900, replace=False)]
    hashes = np.stack([dihedral_phashes(load_image(data_root / e.path)) for e in picked])
    d = min_distances(hashes, slice(0, 120))  # sampled val images against all sampled images
    cross = d[:, 120:]
    assert cross.min() > GROUP_DISTANCE


def test_validation_holds_a_fifth_of_every_class_from_each_collection(manifest):
    """Stratified by class and collection, so neither collection's kind of slice is missing from validation."""
    from collections import Counter

    from ml.data import collection_of

    strata = {}
    for ex in manifest:
        strata.setdefault(ex.group, (ex.label, collection_of(ex.path), ex.split))
    groups = Counter((label, coll) for label, coll, _ in strata.values())
    val = Counter((label, coll) for label, coll, split in strata.values() if split == "val")
    assert len(groups) == 8  # four classes x two collections
    for key, n in groups.items():
        assert 0.17 <= val[key] / n <= 0.23, (key, val[key], n)


def test_the_split_is_stratified_on_synthetic_groups():
    examples = [Example(f"{coll}/{label}/{i}.jpg", label) for coll in ("a", "b") for label in ("glioma", "notumor")
                for i in range(50)]
    split = assign_split(examples, np.arange(len(examples)))
    for coll in ("a", "b"):
        for label in ("glioma", "notumor"):
            n_val = sum(e.split == "val" for e in split if e.path.startswith(f"{coll}/{label}/"))
            assert n_val == 10

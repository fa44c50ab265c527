"""Every model version that served, measured on the same images: ``python -m ml.compare``.

Each runnable version (ml.versions: the served one and those kept in ml/model/archive/) is run
over the validation split of ``ml/splits/manifest.csv`` with ``ml.evaluate``, so that accuracy,
per-class recall, calibration and the share of MRI slices refused are measured on the very same
images, whatever split a version's own card was measured on. A version whose card has no
leave-one-source-out figure for its out-of-scope check (the hand-set rules up to 1.1.0) is also
run over a fresh draw of every non-MRI source in ``ml.negatives``: those rules were set before any
of these sources existed, so every source is held out from them and the figure is the same kind
of estimate. ``--record`` writes the figures into each version's card (``ml/model/cards/`` and, for
the served one, ``ml/model/card.json``) as ``comparison``, which the app's model page shows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from ml.data import CLASSES, DEFAULT_DATA, not_mri_list, read_manifest
from ml.evaluate import evaluate
from ml.versions import MODEL_DIR, all_cards, cards_dir, record_card, served_version

MANIFEST = Path(__file__).resolve().parent / "splits" / "manifest.csv"
NEGATIVES_SEED = 7  # a draw of its own: guard fitting and the cards' fresh draws use other seeds


def manifest_digest(manifest: Path = MANIFEST) -> str:
    """The first 12 hex digits of the SHA-256 of the split manifest and of its list of non-MRI images
    (left out of the figures): a card's figures are on this split."""
    excluded = not_mri_list(manifest)
    return hashlib.sha256(manifest.read_bytes() + (excluded.read_bytes() if excluded.exists() else b"")).hexdigest()[:12]


def negatives_flagged(version: str, scale: float = 1.0) -> dict:
    """Share of each ml.negatives source that ``version`` refuses, on one fresh draw."""
    from ml.infer import get_classifier
    from ml.negatives import SOURCES, make

    clf = get_classifier(version)
    per, total, flagged = {}, 0, 0
    for name, (_, n) in SOURCES.items():
        images = make(name, max(8, int(n * scale)), seed=NEGATIVES_SEED)
        if not images:
            continue
        hits = sum(r.out_of_scope for r in clf.classify(images))
        per[name] = {"images": len(images), "flagged": round(hits / len(images), 4)}
        total, flagged = total + len(images), flagged + hits
    return {"per_source": per, "flagged": round(flagged / max(total, 1), 4), "images": total,
            "mean_of_sources": round(sum(v["flagged"] for v in per.values()) / max(len(per), 1), 4)}


def compare(data: Path = DEFAULT_DATA, manifest: Path = MANIFEST, split: str = "val",
            negatives_scale: float = 1.0) -> dict[str, dict]:
    """version -> its `comparison` figures, oldest first."""
    examples = [e for e in read_manifest(manifest) if e.split == split]
    digest = manifest_digest(manifest)
    out = {}
    for card in all_cards():
        if not card["runnable"]:
            continue
        r = evaluate(data, examples, version=card["version"])
        n = r["n"]
        figures = {
            "split": f"{split} split of ml/splits/manifest.csv (sha256 {digest}...)", "manifest_sha256": digest,
            "images": n, "accuracy": round(r["accuracy"], 4), "macro_f1": round(r["macro_f1"], 4),
            "recall": {c: round(r["recall"][c], 4) for c in CLASSES},
            "ece": round(r["ece"], 4),
            "ece_in_scope": None if r["ece_in_scope"] is None else round(r["ece_in_scope"], 4),
            "val_slices_flagged": round(r["out_of_scope"] / max(n, 1), 4),
            "accuracy_per_collection": {k: round(v["accuracy"], 4) for k, v in r["per_collection"].items()},
            "by_group": {"groups": r["by_group"]["groups"], "accuracy": round(r["by_group"]["accuracy"], 4),
                         "accuracy_interval": r["by_group"]["accuracy_interval"],
                         "recall": {c: round(r["by_group"]["recall"][c], 4) for c in CLASSES}},
            "measured": datetime.now(UTC).strftime("%Y-%m-%d"),
            "command": "python -m ml.compare --record",
        }
        if "leave_one_source_out_flagged" not in (card.get("out_of_scope") or {}):
            figures["negatives_all_sources_held_out"] = negatives_flagged(card["version"], negatives_scale)
        out[card["version"]] = figures
    return out


def record(figures: dict[str, dict], model_dir: Path = MODEL_DIR) -> None:
    """Each version's figures into its card; the served card through card.json, so the two stay one.
    The Markdown card keeps what it said when the version shipped: only its comparison section is
    written (replaced where there is one, else put before "## Known limits")."""
    from ml.card import comparison_markdown

    served = served_version(model_dir)
    for version, fig in figures.items():
        path = model_dir / "card.json" if version == served else cards_dir(model_dir) / f"{version}.json"
        card = json.loads(path.read_text())
        card["comparison"] = fig
        path.write_text(json.dumps(card, indent=2) + "\n")
        md = model_dir / "MODEL_CARD.md" if version == served else path.with_suffix(".md")
        if md.exists():
            md.write_text(splice_section(md.read_text(), comparison_markdown(card)))
    record_card(model_dir)


def splice_section(text: str, section: str, before: str = "## Known limits") -> str:
    """`text` with its "## Versions side by side" section replaced by `section` (or inserted before `before`)."""
    head = section.lstrip("\n").split("\n", 1)[0]
    if head in text:
        start = text.index(head)
        end = text.find("\n## ", start + len(head))
        return text[:start] + section.lstrip("\n") + ("\n" + text[end + 1:] if end >= 0 else "")
    at = text.find(before)
    return text[:at] + section.lstrip("\n") + "\n" + text[at:] if at >= 0 else text + "\n" + section


def format_table(figures: dict[str, dict]) -> str:
    names = list(figures)
    rows = [("images", lambda f: f"{f['images']}"), ("accuracy", lambda f: f"{100 * f['accuracy']:.1f}%"),
            *[(f"recall {c}", lambda f, c=c: f"{100 * f['recall'][c]:.1f}%") for c in CLASSES],
            ("accuracy, group once", lambda f: f"{100 * f['by_group']['accuracy']:.1f}%" if "by_group" in f else "-"),
            ("lowest recall, group", lambda f: f"{100 * min(f['by_group']['recall'].values()):.1f}%"
             if "by_group" in f else "-"),
            ("ECE (all)", lambda f: f"{100 * f['ece']:.2f}%"),
            ("ECE (in scope)", lambda f: f"{100 * f['ece_in_scope']:.2f}%" if f["ece_in_scope"] is not None else "-"),
            ("MRI slices flagged", lambda f: f"{100 * f['val_slices_flagged']:.2f}%"),
            ("negatives flagged*", lambda f: f"{100 * f['negatives_all_sources_held_out']['flagged']:.1f}%"
             if "negatives_all_sources_held_out" in f else "card")]
    lines = [f"{'figure':22s} " + " ".join(f"{n:>22s}" for n in names)]
    lines += [f"{label:22s} " + " ".join(f"{get(figures[n]):>22s}" for n in names) for label, get in rows]
    lines.append("* every source held out, for versions whose card has no leave-one-source-out figure; "
                 f"load average {os.getloadavg()[0]:.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Every runnable model version on the same validation images.")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the data root the manifest's paths start at")
    p.add_argument("--manifest", type=Path, default=MANIFEST)
    p.add_argument("--split", default="val")
    p.add_argument("--negatives-scale", type=float, default=1.0,
                   help="fraction of each non-MRI source's usual count to draw (for a quick check)")
    p.add_argument("--record", action="store_true", help="write the figures into every version's card")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    figures = compare(args.data, args.manifest, args.split, args.negatives_scale)
    if args.record:
        record(figures)
    print(json.dumps(figures) if args.json else format_table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

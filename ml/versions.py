"""Every model version that has served, side by side.

``ml/model/`` holds the served version's artefacts (neurolens.tflite, head.npz, guard.npz,
card.json, MODEL_CARD.md). ``ml/model/cards/<version>.json`` (and ``.md``) keeps the card of
every version that ever served, the served one included, and ``ml/model/archive/<version>/``
keeps the artefacts of the earlier ones, so that any of them can still be loaded and run
(``ml.infer.get_classifier(version)``), for example to re-score stored scans as shadow
predictions.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

MODEL_DIR = Path(os.environ.get("NEUROLENS_MODEL_DIR", Path(__file__).resolve().parent / "model"))
ARTEFACTS = ("neurolens.tflite", "head.npz", "guard.npz", "scope.npz", "card.json", "MODEL_CARD.md")


def cards_dir(model_dir: Path = MODEL_DIR) -> Path:
    return model_dir / "cards"


def archive_dir(model_dir: Path = MODEL_DIR) -> Path:
    return model_dir / "archive"


def served_version(model_dir: Path = MODEL_DIR) -> str:
    return json.loads((model_dir / "card.json").read_text())["version"]


def _version_key(version: str) -> tuple:
    number = version.rsplit("-", 1)[-1]
    return tuple(int(p) if p.isdigit() else p for p in number.split("."))


def versions(model_dir: Path = MODEL_DIR) -> list[str]:
    """Every version with a card, oldest first (the served one is always among them)."""
    found = {p.stem for p in cards_dir(model_dir).glob("*.json")} | {served_version(model_dir)}
    return sorted(found, key=_version_key)


def load_card(version: str | None = None, model_dir: Path = MODEL_DIR) -> dict:
    """The card of ``version`` (the served one when None)."""
    if version is None or version == served_version(model_dir):
        return json.loads((model_dir / "card.json").read_text())
    path = cards_dir(model_dir) / f"{version}.json"
    if not path.exists():
        raise KeyError(f"no model card for {version!r}; known versions: {', '.join(versions(model_dir))}")
    return json.loads(path.read_text())


def all_cards(model_dir: Path = MODEL_DIR) -> list[dict]:
    """Every version's card, oldest first; each says whether it is served and can still run here."""
    served = served_version(model_dir)
    out = []
    for v in versions(model_dir):
        card = load_card(v, model_dir)
        out.append(card | {"served": v == served, "runnable": artefacts_dir(v, model_dir) is not None})
    return out


def artefacts_dir(version: str | None = None, model_dir: Path = MODEL_DIR) -> Path | None:
    """The folder holding ``version``'s model files, or None where they were not kept."""
    if version is None or version == served_version(model_dir):
        return model_dir
    folder = archive_dir(model_dir) / version
    return folder if (folder / "neurolens.tflite").exists() and (folder / "card.json").exists() else None


def archive_served(model_dir: Path = MODEL_DIR) -> Path:
    """Copy the served version's artefacts to archive/<version>/ and its card to cards/ before it is replaced."""
    version = served_version(model_dir)
    record_card(model_dir)
    target = archive_dir(model_dir) / version
    target.mkdir(parents=True, exist_ok=True)
    for name in ARTEFACTS:
        if (model_dir / name).exists():
            shutil.copy2(model_dir / name, target / name)
    return target


def record_card(model_dir: Path = MODEL_DIR) -> None:
    """Keep the served card under cards/<version>.json and .md (kept in step with card.json)."""
    version = served_version(model_dir)
    cards = cards_dir(model_dir)
    cards.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model_dir / "card.json", cards / f"{version}.json")
    if (model_dir / "MODEL_CARD.md").exists():
        shutil.copy2(model_dir / "MODEL_CARD.md", cards / f"{version}.md")


def ship(folder: Path, model_dir: Path = MODEL_DIR) -> str:
    """Make the model in ``folder`` the served one; the version it replaces goes to the archive."""
    new = json.loads((folder / "card.json").read_text())["version"]
    if new == served_version(model_dir):
        raise ValueError(f"{new} is already the served version")
    archive_served(model_dir)
    for name in ARTEFACTS:
        (model_dir / name).unlink(missing_ok=True)
        if (folder / name).exists():
            shutil.copy2(folder / name, model_dir / name)
    if (folder / "guard.json").exists():
        shutil.copy2(folder / "guard.json", model_dir / "guard.json")
    record_card(model_dir)
    return new


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="Model versions: list them, or ship a new model folder.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every version with a card, and whether it is served and can run here")
    s = sub.add_parser("ship", help="serve the model in FOLDER (the served one moves to ml/model/archive/)")
    s.add_argument("folder", type=Path)
    sub.add_parser("record", help="copy the served card into ml/model/cards/")
    args = p.parse_args(argv)
    if args.command == "ship":
        print(f"serving {ship(args.folder)}")
    elif args.command == "record":
        record_card()
    for card in all_cards():
        m = card.get("metrics", {})
        print(f"{card['version']:24s} {'served' if card['served'] else '':7s} "
              f"{'runnable' if card['runnable'] else 'card only':10s} accuracy {m.get('accuracy', float('nan')):.4f} "
              f"on {m.get('split', '?')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

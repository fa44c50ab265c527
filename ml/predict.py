"""Classify image files: ``python -m ml.predict FILE... [--json]``.

Files go through the model in batches; a file that cannot be read gets an error line, the
others still run, and the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml.infer import CLASSES, MAX_BATCH, get_classifier


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    name = type(exc).__name__
    if name == "UnidentifiedImageError":
        return "not an image Pillow can read"
    if isinstance(exc, OSError) and "truncated" in str(exc):
        return "truncated or corrupt image"
    if name == "DecompressionBombError":
        return "image too large (possible decompression bomb)"
    return f"unreadable: {exc}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Classify brain-MRI slices (JPEG, PNG, ...) with the NeuroLens CNN.")
    p.add_argument("files", nargs="+", type=Path, help="image files")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--batch", type=int, default=MAX_BATCH, help=f"images per forward pass (default {MAX_BATCH})")
    args = p.parse_args(argv)
    clf = get_classifier()
    failed = 0
    if not args.json:
        print(f"{'file':40s} {'label':11s} {'conf':>6s} " + " ".join(f"{c[:5]:>6s}" for c in CLASSES)
              + f" {'ms':>6s}  out of scope")
    for start in range(0, len(args.files), args.batch):
        chunk = args.files[start:start + args.batch]
        for path, res in zip(chunk, clf.classify_files([str(f) for f in chunk])):
            if isinstance(res, BaseException):
                failed += 1
                error = describe_error(res)
                if args.json:
                    print(json.dumps({"file": str(path), "error": error}))
                else:
                    print(f"{path!s:40s} ERROR: {error}")
                continue
            if args.json:
                print(json.dumps({"file": str(path)} | res.to_dict()))
            else:
                probs = " ".join(f"{res.probabilities[c]:6.3f}" for c in CLASSES)
                oos = f"YES: {res.out_of_scope_reason}" if res.out_of_scope else "no"
                print(f"{str(path)[-40:]:40s} {res.label:11s} {res.confidence:6.3f} {probs} {res.ms:6.2f}  {oos}")
        sys.stdout.flush()
    if failed:
        print(f"{failed} of {len(args.files)} files could not be read", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

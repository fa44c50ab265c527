"""The classifier the app uses: LiteRT at serving time, so no TensorFlow import.

    from ml.infer import get_classifier
    results = get_classifier().classify([pil_image, ...], heatmaps=True)

One instance per process (``get_classifier``), loaded lazily under a lock; ``classify``
runs many images through one forward pass and is safe to call from several threads.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ml.guard import Guard, colourfulness
from ml.labels import CLASSES, DISPLAY_NAMES  # noqa: F401 - re-exported for the app
from ml.metrics import softmax
from ml.preprocess import INPUT_SIZE, load_image, pixels_to_input, to_pixels
from ml.scope import ScopeModel, image_stats
from ml.versions import MODEL_DIR, artefacts_dir, served_version

#  Images per forward pass (NEUROLENS_MODEL_BATCH, default 32). The interpreter's working memory grows
#  with the batch: measured by ml.bench, passes of 64 peaked at 158 MB resident and 913 images/s, passes
#  of 32 at 119 MB and 859 images/s (a 64-image call then makes two passes). A web worker under `make
#  serve` takes 8 (config/gunicorn.py): with one thread per pass, 8 are as fast per image as 32 here and
#  hold about 25 MB less while a 500-image batch goes through.
MAX_BATCH = int(os.environ.get("NEUROLENS_MODEL_BATCH") or 32)
#  Heat maps are drawn at the image's size up to this many pixels a side, no larger: a map is a
#  smooth enlargement of a few feature cells, and a full-size float map of a large image is wasted memory.
HEATMAP_SIDE = 1024
#  Threads per forward pass (LiteRT's XNNPACK pool): every core unless NEUROLENS_MODEL_THREADS says.
#  Web workers under `make serve` take 1 (config/gunicorn.py): their requests run side by side, one
#  image each, and pools of spinning threads in every worker would fight for the same cores.
MODEL_THREADS = int(os.environ.get("NEUROLENS_MODEL_THREADS") or 0) or None


@dataclass
class ImageResult:
    label: str
    confidence: float
    probabilities: dict[str, float]
    out_of_scope: bool
    out_of_scope_reason: str | None
    model_version: str
    ms: float
    heatmap: np.ndarray | None = field(default=None, repr=False)
    #  The class-activation map at the network's own resolution (a few cells a side, float32 in
    #  [0, 1]) before it is enlarged: what an app keeps (`enlarge_cam` draws it at any size later).
    cam: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("heatmap")
        d.pop("cam")
        return d


class Classifier:
    def __init__(self, model_dir: Path = MODEL_DIR, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.card = json.loads((model_dir / "card.json").read_text())
        self.version: str = self.card["version"]
        self.temperature = float(self.card["calibration"]["temperature"])
        self.input_size = int(self.card.get("input", {}).get("size", [INPUT_SIZE])[0])
        head = np.load(model_dir / "head.npz")
        self._weights, self._bias = head["dense_kernel"], head["dense_bias"]
        #  The learned guard (ml.guard); versions before it used hand-set image statistics (ml.scope).
        self.guard = Guard.load(model_dir / "guard.npz") if (model_dir / "guard.npz").exists() else None
        self.scope = None if self.guard else ScopeModel.load(model_dir / "scope.npz")
        self._open = lambda: Interpreter(model_path=str(model_dir / "neurolens.tflite"),
                                         num_threads=num_threads or MODEL_THREADS or os.cpu_count() or 1)
        self._interp = None
        self._lock = threading.Lock()
        self.warm()

    def warm(self) -> None:
        """Open the interpreter (if this process has none) and run one image through it."""
        self._forward(np.zeros((1, self.input_size, self.input_size, 1), np.float32))

    def _after_fork(self) -> None:
        """In a forked child: the parent's interpreter is left alone and a new one opened on first use.
        Its thread pool's threads did not survive the fork, so an invoke could wait for them forever
        (and so could its destructor: it is kept, never freed). The lock may have been held by a
        parent thread that the child does not have."""
        if self._interp is not None:
            _forked_away.append(self._interp)
        self._interp = None
        self._lock = threading.Lock()

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, S, S, 1) float32 -> logits (n, 4), feature maps (n, h, w, c)."""
        with self._lock:
            if self._interp is None:
                self._interp = self._open()
                self._input = self._interp.get_input_details()[0]["index"]
                self._batch = 0
            if len(x) != self._batch:
                self._interp.resize_tensor_input(self._input, list(x.shape))
                self._interp.allocate_tensors()
                self._batch = len(x)
                outs = self._interp.get_output_details()
                self._logits = next(o["index"] for o in outs if len(o["shape"]) == 2)
                self._features = next(o["index"] for o in outs if len(o["shape"]) == 4)
            self._interp.set_tensor(self._input, x)
            self._interp.invoke()
            return self._interp.get_tensor(self._logits).copy(), self._interp.get_tensor(self._features).copy()

    def classify(self, images: list[Image.Image], heatmaps: bool = False,
                 heatmap_side: int = HEATMAP_SIDE, cams: bool = False) -> list[ImageResult]:
        """Classify decoded images (any mode or size), MAX_BATCH per forward pass; each heat map at the
        image's proportions, at most `heatmap_side` pixels a side. With `cams` each result also keeps
        the map at the network's resolution (ImageResult.cam): all an app needs to store, at next to
        no cost (enlarging and encoding a map took a tenth of an upload's time)."""
        t0 = time.perf_counter()
        size = self.input_size
        pixels = np.stack([to_pixels(img, size) for img in images]) if images else np.zeros((0, size, size), np.uint8)
        logits, features = [], []
        for start in range(0, len(images), MAX_BATCH):
            lg, ft = self._forward(pixels_to_input(pixels[start:start + MAX_BATCH]))
            logits.append(lg)
            features.append(ft)
        if not images:
            return []
        logits, features = np.concatenate(logits), np.concatenate(features)
        probs = softmax(logits, self.temperature)
        reasons = self.out_of_scope_reasons(images, pixels, features.mean(axis=(1, 2)))
        ms = (time.perf_counter() - t0) * 1000 / len(images)
        results = []
        for i, img in enumerate(images):
            k = int(probs[i].argmax())
            p = probs[i]
            cam = self.cam(features[i], k) if heatmaps or cams else None
            if reasons[i]:
                #  Out of scope: no class is claimed, so every class is reported as equally likely.
                p = np.full(len(CLASSES), 1.0 / len(CLASSES))
            results.append(ImageResult(
                label=CLASSES[k], confidence=round(float(p[k]), 4),
                probabilities={c: round(float(v), 4) for c, v in zip(CLASSES, p)},
                out_of_scope=reasons[i] is not None, out_of_scope_reason=reasons[i],
                model_version=self.version, ms=round(ms, 3),
                heatmap=enlarge_cam(cam, self.input_size, display_size(img.size, heatmap_side)) if heatmaps else None,
                cam=cam if cams else None))
        return results

    def out_of_scope_reasons(self, images: list[Image.Image], pixels: np.ndarray,
                             pooled: np.ndarray) -> list[str | None]:
        """Why each image is not a brain MRI slice, or None where it looks like one."""
        if self.guard is not None:
            return self.guard.reasons(pooled, pixels, np.array([colourfulness(img) for img in images]))
        return self.scope.reasons(np.stack([image_stats(img) for img in images]), pooled)

    def cam(self, features: np.ndarray, class_index: int) -> np.ndarray:
        """Class activation map (Zhou et al. 2016) of one image's feature maps (h, w, c) for one class,
        at their resolution: float32 (h, w) in [0, 1]."""
        cam = np.maximum(features @ self._weights[:, class_index], 0).astype(np.float32)
        cam /= max(float(cam.max()), 1e-6)
        return cam

    def class_cam(self, image: Image.Image, label: str) -> np.ndarray:
        """The map of `label` for one image at the network's resolution (as ImageResult.cam holds it):
        for drawing a stored prediction's map again, whose class is the stored one (a pass over a
        resized copy of the image could rank a close second class first)."""
        _, features = self._forward(pixels_to_input(to_pixels(image, self.input_size)[None]))
        return self.cam(features[0], CLASSES.index(label))

    def classify_files(self, sources: list, heatmaps: bool = False, workers: int = 2) -> list:
        """Decode files or bytes on ``workers`` threads, then classify; a file that cannot be
        read yields its exception in place of a result."""
        def decode(src):
            try:
                return load_image(src)
            except Exception as exc:  # noqa: BLE001 - reported per file
                return exc

        with ThreadPoolExecutor(workers) as pool:
            decoded = list(pool.map(decode, sources))
        good = [d for d in decoded if isinstance(d, Image.Image)]
        it = iter(self.classify(good, heatmaps=heatmaps))
        return [next(it) if isinstance(d, Image.Image) else d for d in decoded]


def enlarge_cam(cam: np.ndarray, input_size: int, size: tuple[int, int]) -> np.ndarray:
    """A map at the network's resolution drawn over an image of `size` (width, height): enlarged
    smoothly to the square model input, the image's part of that square cut out (an image that is not
    square was centred in it), then scaled to the image. float32 (height, width) in [0, 1]."""
    square = Image.fromarray(np.asarray(cam, np.float32), "F").resize((input_size, input_size),
                                                                      Image.Resampling.BILINEAR)
    w, h = size
    side = max(w, h)
    scale = input_size / side
    left, top = (side - w) / 2 * scale, (side - h) / 2 * scale
    crop = square.crop((round(left), round(top), round(left + w * scale), round(top + h * scale)))
    return np.clip(np.asarray(crop.resize((w, h), Image.Resampling.BILINEAR), np.float32), 0.0, 1.0)


def display_size(size: tuple[int, int], side: int = HEATMAP_SIDE) -> tuple[int, int]:
    """`size` scaled down (never up) to fit `side` pixels a side, proportions kept."""
    scale = min(1.0, side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


_instances: dict[str | None, Classifier] = {}
_instance_lock = threading.Lock()
_forked_away: list = []  # interpreters a parent process opened before this process was forked from it


def _reset_after_fork() -> None:
    global _instance_lock
    _instance_lock = threading.Lock()
    for clf in _instances.values():
        clf._after_fork()


#  gunicorn --preload (config/gunicorn.py) loads the model in the master and forks the web workers.
os.register_at_fork(after_in_child=_reset_after_fork)


def get_classifier(version: str | None = None) -> Classifier:
    """The process's classifier for ``version`` (the served model when None), loaded on first use.

    Earlier versions load from ml/model/archive/ (ml.versions); KeyError where a version's
    files were not kept.
    """
    clf = _instances.get(version)
    if clf is None and version is not None:
        #  The served version by name (a stored prediction's model_version) is the served instance, not
        #  a second interpreter of the same files.
        served = _instances.get(None)
        if (served is not None and served.version == version) or (served is None and version == served_version()):
            return get_classifier()
    if clf is None:
        with _instance_lock:
            clf = _instances.get(version)
            if clf is None:
                folder = artefacts_dir(version)
                if folder is None:
                    raise KeyError(f"the files of model version {version!r} are not kept in ml/model/archive/")
                clf = _instances[version] = Classifier(folder)
    return clf

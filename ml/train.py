"""Train the classifier from scratch: ``python -m ml.train``.

Reads the committed split manifest, decodes every image once through the serving path
(cached under .cache/), and trains with de-duplicated, class-balanced sampling (each image
weighted by 1/sqrt of its near-duplicate group's size, each class drawn equally often),
strong geometric and intensity augmentation, label smoothing, AdamW with a cosine schedule,
and early stopping on validation macro-F1. Writes the best weights to the run folder; then
``python -m ml.export`` calibrates, converts to LiteRT and writes the model card.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ml.data import CLASSES, DEFAULT_DATA, MANIFEST, load_pixels, read_manifest
from ml.metrics import classification_report
from ml.preprocess import INPUT_SIZE, pixels_to_input

RUNS = Path(__file__).resolve().parent / "runs"


def sampling_weights(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """1/sqrt(group size), then normalised so every class is drawn equally often."""
    size = Counter(groups.tolist())
    w = np.array([1.0 / np.sqrt(size[g]) for g in groups.tolist()])
    for c in range(len(CLASSES)):
        w[labels == c] /= w[labels == c].sum()
    return w / w.sum()


class CosineSchedule:
    """Warm-up then cosine decay of the learning rate, set before every batch.

    With a time budget the schedule runs on the clock rather than on steps, so that a run
    on a busy machine still ends annealed instead of being cut off at a high rate.
    """

    def __init__(self, peak: float, total_steps: int, warmup_steps: int, budget_s: float = 0):
        import keras

        self.peak, self.total, self.warmup, self.budget = peak, total_steps, warmup_steps, budget_s
        self.step, self.start, self.finished = 0, time.perf_counter(), False
        self.callback = keras.callbacks.LambdaCallback(on_train_batch_begin=self._begin)

    def progress(self) -> tuple[float, float]:
        """(warm-up progress, decay progress), each in [0, 1]."""
        if self.budget:
            t, warm, total = time.perf_counter() - self.start, self.budget * 0.04, self.budget
        else:
            t, warm, total = self.step, self.warmup, self.total
        return min(t / warm, 1.0), min(max(t - warm, 0) / max(total - warm, 1e-9), 1.0)

    def _begin(self, batch, logs=None) -> None:
        warm, decay = self.progress()
        lr = self.peak * (0.1 + 0.9 * warm) if warm < 1 else self.peak * (0.01 + 0.495 * (1 + np.cos(np.pi * decay)))
        self.callback.model.optimizer.learning_rate.assign(lr)
        self.step += 1
        self.finished = decay >= 1.0


def make_augment(tf, keras):
    geometric = keras.Sequential([
        keras.layers.RandomRotation(0.05, fill_mode="constant", dtype="float32"),
        keras.layers.RandomZoom((-0.15, 0.10), fill_mode="constant", dtype="float32"),
        keras.layers.RandomTranslation(0.06, 0.06, fill_mode="constant", dtype="float32"),
    ])

    def augment(x):
        n = tf.shape(x)[0]
        flip = tf.random.uniform([n, 1, 1, 1]) < 0.5
        x = tf.where(flip, tf.reverse(x, [2]), x)
        flip = tf.random.uniform([n, 1, 1, 1]) < 0.5
        x = tf.where(flip, tf.reverse(x, [1]), x)
        turn = tf.random.uniform([n, 1, 1, 1]) < 0.5
        x = tf.where(turn, tf.transpose(x, [0, 2, 1, 3]), x)
        x = geometric(x, training=True)
        gamma = tf.exp(tf.random.uniform([n, 1, 1, 1], -0.3, 0.3))
        x = tf.pow(tf.clip_by_value(x, 0.0, 1.0), gamma)
        x = x * tf.random.uniform([n, 1, 1, 1], 0.8, 1.2)
        x = x + tf.random.normal(tf.shape(x), stddev=0.01)
        return tf.clip_by_value(x, 0.0, 1.0)

    return augment


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Train the NeuroLens CNN from scratch.")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--manifest", type=Path, default=MANIFEST)
    p.add_argument("--out", type=Path, default=RUNS / "latest")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--steps", type=int, default=80, help="batches per epoch")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--max-minutes", type=float, default=0,
                   help="train for this long, the learning rate annealed over that time (0: --epochs decides)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32",
                   help="mixed_bfloat16 computes in bfloat16 (AVX-512 BF16 / AMX), keeps weights in float32")
    p.add_argument("--resume", type=Path, help="start from this run's weights (a .keras file) instead of scratch")
    args = p.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from ml.model import build_model

    keras.utils.set_random_seed(args.seed)
    keras.mixed_precision.set_global_policy(args.precision)
    t0 = time.perf_counter()
    examples = read_manifest(args.manifest)
    pixels = load_pixels(args.data, examples)
    labels = np.array([CLASSES.index(e.label) for e in examples])
    groups = np.array([e.group for e in examples])
    is_train = np.array([e.split == "train" for e in examples])
    tr_x, tr_y, tr_g = pixels[is_train], labels[is_train], groups[is_train]
    va_x, va_y = pixels[~is_train], labels[~is_train]
    print(f"train {len(tr_y)} images / {len(set(tr_g.tolist()))} groups, val {len(va_y)}; "
          f"data ready in {time.perf_counter() - t0:.0f} s", flush=True)

    weights = sampling_weights(tr_y, tr_g)
    rng = np.random.default_rng(args.seed)
    augment = make_augment(tf, keras)
    train_images = tf.constant(tr_x)
    onehot = tf.constant(np.eye(len(CLASSES), dtype=np.float32)[tr_y])

    def batches():
        while True:
            yield rng.choice(len(tr_y), size=args.batch, p=weights)

    ds = (tf.data.Dataset.from_generator(batches, output_signature=tf.TensorSpec([args.batch], tf.int64))
          .map(lambda i: (augment(tf.cast(tf.gather(train_images, i), tf.float32)[..., None] / 255.0),
                          tf.gather(onehot, i)), num_parallel_calls=1)
          .prefetch(2))
    val_inputs = pixels_to_input(va_x)

    net = keras.models.load_model(args.resume) if args.resume else build_model()
    model = keras.Model(net.input, net.outputs[0])
    schedule = CosineSchedule(args.lr, args.epochs * args.steps, args.steps, args.max_minutes * 60)
    model.compile(optimizer=keras.optimizers.AdamW(args.lr / 10, weight_decay=1e-4),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.05),
                  metrics=["accuracy"])
    print(f"model {net.count_params():,} parameters, input {INPUT_SIZE}x{INPUT_SIZE}x1", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    history: list[dict] = []
    best = {"macro_f1": -1.0}
    waited = 0
    for epoch in range(1, args.epochs + 1):
        te = time.perf_counter()
        h = model.fit(ds, steps_per_epoch=args.steps, epochs=1, verbose=0, callbacks=[schedule.callback])
        logits = model.predict(val_inputs, batch_size=128, verbose=0)
        rep = classification_report(va_y, logits.argmax(1))
        row = {"epoch": epoch, "loss": float(h.history["loss"][-1]), "acc": float(h.history["accuracy"][-1]),
               "val_acc": rep["accuracy"], "val_macro_f1": rep["macro_f1"],
               "val_min_recall": min(rep["recall"].values()), "seconds": time.perf_counter() - te}
        history.append(row)
        net.save(args.out / "last.keras")
        mark = ""
        if rep["macro_f1"] > best["macro_f1"]:
            best = {**row, "macro_f1": rep["macro_f1"]}
            net.save(args.out / "best.keras")
            waited, mark = 0, " *"
        else:
            waited += 1
        elapsed = (time.perf_counter() - t0) / 60
        print(f"epoch {epoch:3d}/{args.epochs}  loss {row['loss']:.3f}  acc {row['acc']:.3f}  "
              f"val_acc {rep['accuracy']:.4f}  val_f1 {rep['macro_f1']:.4f}  "
              f"min_recall {row['val_min_recall']:.3f}  {row['seconds']:.0f}s  [{elapsed:.1f} min]{mark}",
              flush=True)
        if waited >= args.patience:
            print(f"early stop: no better val macro-F1 for {args.patience} epochs", flush=True)
            break
        if schedule.finished:
            print("learning-rate schedule finished", flush=True)
            break

    seconds = time.perf_counter() - t0
    summary = {"resumed_from": str(args.resume) if args.resume else None, "epochs_run": len(history), "best_epoch": best.get("epoch"), "seconds": round(seconds),
               "batch": args.batch, "steps_per_epoch": args.steps, "lr": args.lr, "seed": args.seed,
               "precision": args.precision,
               "label_smoothing": 0.05, "history": history}
    (args.out / "training.json").write_text(json.dumps(summary, indent=2))
    print(f"done in {seconds / 60:.1f} min; best epoch {best.get('epoch')} "
          f"val_acc {best.get('val_acc', 0):.4f} val_f1 {best['macro_f1']:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

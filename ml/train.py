"""Train the classifier from scratch, resumably: ``python -m ml.train --out ml/runs/NAME``.

Reads the committed split manifest, decodes every image once through the serving path
(cached under .cache/), and trains with de-duplicated, class-balanced sampling (each image
weighted by 1/sqrt of its near-duplicate group's size, each class drawn equally often),
anatomy-preserving augmentation (flips, quarter turns, small rotations, zoom and shifts,
gamma, brightness, contrast, noise), mixup or cutmix on part of the batches, label
smoothing, AdamW with warm-up and cosine decay, and an exponential moving average (EMA) of
the weights, which is what gets evaluated and saved.

Every few minutes the run folder gets ``checkpoint.npz``: weights, optimiser state, EMA
weights, step, the random generator's state, the history and the clock, written atomically.
``python -m ml.train --resume ml/runs/NAME`` continues a stopped run exactly where its last
checkpoint left it, with the arguments it was started with (``config.json``).

Each epoch the EMA weights, with batch-norm statistics re-estimated on clean training
images, are measured on validation (per class and per collection) and saved as
``last.keras`` (and ``best.keras`` on a better macro-F1); ``python -m ml.export`` then
calibrates, converts to LiteRT and writes the model card.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ml.data import CLASSES, DEFAULT_DATA, MANIFEST, collection_of, load_pixels, not_mri, read_manifest
from ml.metrics import classification_report
from ml.preprocess import INPUT_SIZE, pixels_to_input

RUNS = Path(__file__).resolve().parent / "runs"
CHECKPOINT = "checkpoint.npz"


def sampling_weights(labels: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """1/sqrt(group size), then normalised so every class is drawn equally often."""
    size = Counter(groups.tolist())
    w = np.array([1.0 / np.sqrt(size[g]) for g in groups.tolist()])
    for c in range(len(CLASSES)):
        w[labels == c] /= w[labels == c].sum()
    return w / w.sum()


def learning_rate(peak: float, progress: float, warmup: float = 0.04) -> float:
    """Linear warm-up from a tenth of the peak, then cosine decay to 1% of it; progress in [0, 1]."""
    if progress < warmup:
        return peak * (0.1 + 0.9 * progress / warmup)
    decay = min((progress - warmup) / (1 - warmup), 1.0)
    return peak * (0.01 + 0.495 * (1 + np.cos(np.pi * decay)))


def affine_params(rng: np.random.Generator, n: int, size: int, rotate_deg: float = 15.0,
                  zoom: tuple[float, float] = (0.87, 1.12), shift: float = 0.06) -> np.ndarray:
    """(n, 8) projective transforms (output -> input pixel) for rotation, zoom and shift about the centre."""
    a = np.deg2rad(rng.uniform(-rotate_deg, rotate_deg, n))
    s = 1.0 / rng.uniform(*zoom, n)  # zooming in samples a smaller input area
    tx, ty = (rng.uniform(-shift, shift, (2, n)) * size)
    c = (size - 1) / 2
    cos, sin = np.cos(a) * s, np.sin(a) * s
    # input = R*S (output - centre) + centre + shift
    a0, a1, b0, b1 = cos, -sin, sin, cos
    a2 = c - a0 * c - a1 * c + tx
    b2 = c - b0 * c - b1 * c + ty
    z = np.zeros(n)
    return np.stack([a0, a1, a2, b0, b1, b2, z, z], 1).astype(np.float32)


def batch_plan(rng: np.random.Generator, weights: np.ndarray, batch: int, size: int,
               mix_prob: float, mix_alpha: float) -> dict:
    """Every random choice for one batch, drawn from one NumPy generator (so a resumed run
    continues the same stream): which images, their augmentation, and mixup/cutmix."""
    plan = {
        "idx": rng.choice(len(weights), size=batch, p=weights),
        "flips": (rng.random((batch, 3)) < 0.5).astype(np.float32),
        "affine": affine_params(rng, batch, size),
        "gamma": np.exp(rng.uniform(-0.3, 0.3, batch)).astype(np.float32),
        "gain": rng.uniform(0.8, 1.2, batch).astype(np.float32),
        "noise": rng.uniform(0.0, 0.02, batch).astype(np.float32),
        "noise_seed": rng.integers(0, 2**31 - 1, 2).astype(np.int32),
        "perm": rng.permutation(batch).astype(np.int32),
        "lam": np.float32(1.0),
        "box": np.zeros(4, np.int32),  # y0, y1, x0, x1 of the pasted cutmix box
    }
    u = rng.random()
    if u < mix_prob / 2:  # mixup
        plan["lam"] = np.float32(max(rng.beta(mix_alpha, mix_alpha), 0.5))
    elif u < mix_prob:  # cutmix: a box from the partner image replaces part of each image
        cut = np.sqrt(1.0 - rng.uniform(0.5, 1.0))
        h = w = round(float(size * cut))
        y0, x0 = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        plan["box"] = np.array([y0, y0 + h, x0, x0 + w], np.int32)
        plan["lam"] = np.float32(1.0 - h * w / size / size)
    return plan


def make_step(tf, keras, model, optimizer, images, onehot, ema_vars, smoothing: float, size: int):
    """The compiled training step: gather, augment, mix, forward, backward, update, EMA."""
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)
    weights = model.weights

    def augment(x, p):
        x = tf.where(p["flips"][:, 0, None, None, None] > 0, tf.reverse(x, [2]), x)
        x = tf.where(p["flips"][:, 1, None, None, None] > 0, tf.reverse(x, [1]), x)
        x = tf.where(p["flips"][:, 2, None, None, None] > 0, tf.transpose(x, [0, 2, 1, 3]), x)
        x = tf.raw_ops.ImageProjectiveTransformV3(
            images=x, transforms=p["affine"], output_shape=tf.constant([size, size]),
            fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")
        x = tf.pow(tf.clip_by_value(x, 0.0, 1.0), p["gamma"][:, None, None, None]) * p["gain"][:, None, None, None]
        x = x + tf.random.stateless_normal(tf.shape(x), p["noise_seed"]) * p["noise"][:, None, None, None]
        return tf.clip_by_value(x, 0.0, 1.0)

    @tf.function(reduce_retracing=True)
    def step(p, lr, ema_decay):
        x = tf.cast(tf.gather(images, p["idx"]), tf.float32)[..., None] / 255.0
        y = tf.gather(onehot, p["idx"])
        x = augment(x, p)
        x2, y2 = tf.gather(x, p["perm"]), tf.gather(y, p["perm"])
        yy, xx = tf.range(size)[:, None], tf.range(size)[None, :]
        box = p["box"]
        inside = (yy >= box[0]) & (yy < box[1]) & (xx >= box[2]) & (xx < box[3])
        use_box = tf.cast(box[1] > box[0], tf.float32)
        mask = tf.cast(inside, tf.float32)[None, :, :, None] * use_box
        mixed = (1.0 - mask) * x + mask * x2  # cutmix (no-op without a box)
        mixed = tf.where(use_box > 0, mixed, p["lam"] * x + (1.0 - p["lam"]) * x2)  # mixup (lam 1: no-op)
        target = p["lam"] * y + (1.0 - p["lam"]) * y2
        optimizer.learning_rate.assign(lr)
        with tf.GradientTape() as tape:
            logits = model(mixed, training=True)
            loss = loss_fn(target, logits)
            total = loss + tf.add_n(model.losses) if model.losses else loss
        grads = tape.gradient(total, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        for e, w in zip(ema_vars, weights):
            e.assign(ema_decay * e + (1.0 - ema_decay) * tf.cast(w, e.dtype))
        hit = tf.reduce_mean(tf.cast(tf.argmax(logits, 1) == tf.argmax(target, 1), tf.float32))
        return loss, hit

    return step


def recalibrate_batch_norm(net, pixels: np.ndarray, batches: int = 30, seed: int = 0) -> None:
    """Re-estimate every batch-norm layer's statistics as the plain mean over clean batches."""
    import keras

    bns = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in bns]
    idx = np.random.default_rng(seed).permutation(len(pixels))
    batches = max(1, min(batches, len(pixels) // 64))  # never an empty batch on a small set
    for k in range(1, batches + 1):
        for layer in bns:
            layer.momentum = 1.0 - 1.0 / k
        net(pixels_to_input(pixels[idx[(k - 1) * 64:k * 64]]), training=True)
    for layer, m in zip(bns, saved):
        layer.momentum = m


def per_collection(y: np.ndarray, pred: np.ndarray, collections: np.ndarray) -> dict:
    out = {}
    for name in sorted(set(collections.tolist())):
        sel = collections == name
        rep = classification_report(y[sel], pred[sel])
        out[name] = {"accuracy": round(rep["accuracy"], 4), "recall": rep["recall"], "n": int(sel.sum())}
    return out


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic: a stop half-way through leaves the previous checkpoint whole."""
    tmp = path.with_suffix(".tmp.npz")
    arrays = {f"w{i}": v for i, v in enumerate(state.pop("weights"))}
    arrays |= {f"o{i}": v for i, v in enumerate(state.pop("optimizer"))}
    arrays |= {f"e{i}": v for i, v in enumerate(state.pop("ema"))}
    np.savez(tmp, meta=np.array(json.dumps(state)), **arrays)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    z = np.load(path)
    state = json.loads(str(z["meta"]))
    for prefix, key in (("w", "weights"), ("o", "optimizer"), ("e", "ema")):
        n = sum(1 for k in z.files if k.startswith(prefix) and k[1:].isdigit())
        state[key] = [z[f"{prefix}{i}"] for i in range(n)]
    return state


def parse_args(argv):
    p = argparse.ArgumentParser(description="Train the NeuroLens CNN from scratch (resumable).")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--manifest", type=Path, default=MANIFEST)
    p.add_argument("--out", type=Path, default=RUNS / "latest")
    p.add_argument("--arch", choices=("v1", "v2"), default="v2")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--steps", type=int, default=200, help="batches per epoch")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=5e-5)
    p.add_argument("--smoothing", type=float, default=0.1)
    p.add_argument("--mix-prob", type=float, default=0.5, help="share of batches mixed (half mixup, half cutmix)")
    p.add_argument("--mix-alpha", type=float, default=0.4)
    p.add_argument("--ema", type=float, default=0.999, help="EMA decay of the weights")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="train for this many minutes of training time, the learning rate annealed over that "
                        "time (counted across resumes; 0: --epochs x --steps decides). With --resume it "
                        "replaces the run's budget, which stretches the rest of the schedule")
    p.add_argument("--checkpoint-minutes", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32",
                   help="mixed_bfloat16 pays where the CPU has AMX (lscpu: amx_bf16) or on a GPU")
    p.add_argument("--resume", type=Path, help="continue this run folder from its checkpoint.npz")
    args = p.parse_args(argv)
    if args.resume:
        budget = args.max_minutes
        saved = json.loads((args.resume / "config.json").read_text())
        for k, v in saved.items():
            setattr(args, k, Path(v) if k in ("data", "manifest", "out") else v)
        args.resume, args.out = Path(args.resume), Path(args.resume)
        if budget is not None:
            args.max_minutes = budget
            saved["max_minutes"] = budget
            (args.resume / "config.json").write_text(json.dumps(saved, indent=2))
    elif args.max_minutes is None:
        args.max_minutes = 0.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from ml.model import ARCHITECTURES, build_model

    keras.utils.set_random_seed(args.seed)
    t0 = time.perf_counter()
    examples = read_manifest(args.manifest)
    pixels = load_pixels(args.data, examples, progress=False)
    labels = np.array([CLASSES.index(e.label) for e in examples])
    groups = np.array([e.group for e in examples])
    collections = np.array([collection_of(e.path) for e in examples])
    is_train = np.array([e.split == "train" for e in examples])
    tr_x, tr_y, tr_g = pixels[is_train], labels[is_train], groups[is_train]
    va_x, va_y, va_c = pixels[~is_train], labels[~is_train], collections[~is_train]
    print(f"train {len(tr_y)} images / {len(set(tr_g.tolist()))} groups, val {len(va_y)}; "
          f"data ready in {time.perf_counter() - t0:.0f} s", flush=True)

    weights = sampling_weights(tr_y, tr_g)
    # Mixed bfloat16 trains the network with bf16 arithmetic and float32 weights (fast where the CPU
    # has AMX); the evaluation copy is always float32, so what is measured and saved is float32.
    keras.mixed_precision.set_global_policy(args.precision)
    net = build_model(**ARCHITECTURES[args.arch])
    keras.mixed_precision.set_global_policy("float32")
    ema_net = build_model(**ARCHITECTURES[args.arch])  # evaluation copy holding the EMA weights
    model = keras.Model(net.input, net.outputs[0])
    optimizer = keras.optimizers.AdamW(args.lr, weight_decay=args.weight_decay)
    optimizer.build(model.trainable_variables)
    ema_vars = [tf.Variable(w.numpy(), trainable=False) for w in net.weights]
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.out / CHECKPOINT
    rng = np.random.default_rng(args.seed)
    state = {"step": 0, "train_seconds": 0.0, "history": [], "best_f1": -1.0, "best_epoch": None}
    if args.resume and ckpt_path.exists():
        saved = load_checkpoint(ckpt_path)
        net.set_weights(saved.pop("weights"))
        for v, a in zip(optimizer.variables, saved.pop("optimizer")):
            v.assign(a)
        for v, a in zip(ema_vars, saved.pop("ema")):
            v.assign(a)
        rng.bit_generator.state = saved.pop("rng")
        state = saved
        print(f"resumed at step {state['step']} ({state['train_seconds'] / 60:.1f} min trained)", flush=True)
    else:
        cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "resume"}
        (args.out / "config.json").write_text(json.dumps(cfg, indent=2))

    step_fn = make_step(tf, keras, model, optimizer, tf.constant(tr_x), tf.constant(np.eye(4, dtype=np.float32)[tr_y]),
                        ema_vars, args.smoothing, INPUT_SIZE)
    total_steps = args.epochs * args.steps
    budget = args.max_minutes * 60

    def progress() -> float:
        return min(state["train_seconds"] / budget, 1.0) if budget else min(state["step"] / total_steps, 1.0)

    def checkpoint() -> None:
        save_checkpoint(ckpt_path, {**state, "rng": rng.bit_generator.state,
                                    "weights": net.get_weights(),
                                    "optimizer": [v.numpy() for v in optimizer.variables],
                                    "ema": [v.numpy() for v in ema_vars]})

    length = f"{args.max_minutes:.0f} min budget" if budget else f"{total_steps} steps"
    print(f"model {args.arch}: {net.count_params():,} parameters, input {INPUT_SIZE}x{INPUT_SIZE}x1; {length}",
          flush=True)
    val_inputs = pixels_to_input(va_x)
    last_ckpt = time.perf_counter()
    step_times: list[float] = []
    while progress() < 1.0:
        epoch = state["step"] // args.steps + 1
        te, losses, hits = time.perf_counter(), [], []
        for _ in range(args.steps - state["step"] % args.steps):  # a resumed epoch only finishes
            ts = time.perf_counter()
            plan = batch_plan(rng, weights, args.batch, INPUT_SIZE, args.mix_prob, args.mix_alpha)
            decay = min(args.ema, (1.0 + state["step"]) / (10.0 + state["step"]))
            loss, hit = step_fn(plan, np.float32(learning_rate(args.lr, progress())), np.float32(decay))
            losses.append(float(loss))
            hits.append(float(hit))
            state["step"] += 1
            # A step that took far longer than the recent ones was paused (SIGSTOP while the machine
            # is needed for a benchmark, a laptop asleep): count a typical step, so a pause does not
            # consume the time-based schedule.
            took = time.perf_counter() - ts
            typical = float(np.median(step_times)) if step_times else took
            state["train_seconds"] += min(took, 10 * typical) if len(step_times) >= 20 else took
            step_times.append(took)
            del step_times[:-200]
            if time.perf_counter() - last_ckpt > args.checkpoint_minutes * 60:
                checkpoint()
                last_ckpt = time.perf_counter()
            if progress() >= 1.0:
                break
        # Evaluate the EMA weights with batch-norm statistics of clean images.
        ema_net.set_weights([v.numpy() for v in ema_vars])
        recalibrate_batch_norm(ema_net, tr_x, seed=epoch)
        logits = ema_net.predict(val_inputs, batch_size=128, verbose=0)[0]
        pred = logits.argmax(1)
        rep = classification_report(va_y, pred)
        row = {"epoch": epoch, "step": state["step"], "loss": float(np.mean(losses)), "acc": float(np.mean(hits)),
               "lr": learning_rate(args.lr, progress()), "val_acc": rep["accuracy"], "val_macro_f1": rep["macro_f1"],
               "val_min_recall": min(rep["recall"].values()), "val_recall": rep["recall"],
               "val_collections": per_collection(va_y, pred, va_c), "seconds": time.perf_counter() - te}
        state["history"].append(row)
        ema_net.save(args.out / "last.keras")
        mark = ""
        if rep["macro_f1"] > state["best_f1"]:
            state["best_f1"], state["best_epoch"] = rep["macro_f1"], epoch
            ema_net.save(args.out / "best.keras")
            mark = " *"
        checkpoint()
        last_ckpt = time.perf_counter()
        colls = " ".join(f"{k.split('-')[-1]} {v['accuracy']:.3f}" for k, v in row["val_collections"].items())
        print(f"epoch {epoch:3d} step {state['step']:6d}  loss {row['loss']:.3f}  acc {row['acc']:.3f}  "
              f"lr {row['lr']:.5f}  val_acc {rep['accuracy']:.4f} ({colls})  val_f1 {rep['macro_f1']:.4f}  "
              f"recall {' '.join(f'{v:.3f}' for v in rep['recall'].values())}  {row['seconds']:.0f}s  "
              f"[{state['train_seconds'] / 60:.1f} min trained, {100 * progress():.0f}%]{mark}", flush=True)

    summary = {"resumed_from": None, "arch": args.arch, "epochs_run": len(state["history"]),
               "best_epoch": state["best_epoch"], "seconds": round(state["train_seconds"]), "steps": state["step"],
               "batch": args.batch, "steps_per_epoch": args.steps, "lr": args.lr, "seed": args.seed,
               "precision": args.precision, "label_smoothing": args.smoothing, "weight_decay": args.weight_decay,
               "mix_prob": args.mix_prob, "mix_alpha": args.mix_alpha, "ema": args.ema,
               "train_images": len(tr_y), "not_mri_left_out": len(not_mri(args.manifest)),
               "history": state["history"]}
    (args.out / "training.json").write_text(json.dumps(summary, indent=2))
    print(f"done: {state['step']} steps in {state['train_seconds'] / 60:.1f} min of training; best epoch "
          f"{state['best_epoch']} val_f1 {state['best_f1']:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

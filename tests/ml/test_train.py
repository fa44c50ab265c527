"""The trainer's schedule, checkpoints and resume (a tiny real run where TensorFlow is installed)."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from ml.data import read_manifest
from ml.train import CHECKPOINT, batch_plan, learning_rate, load_checkpoint, save_checkpoint


def test_the_learning_rate_warms_up_then_decays_to_a_hundredth():
    rates = [learning_rate(1.0, p) for p in np.linspace(0, 1, 101)]
    peak = int(np.argmax(rates))
    assert rates[0] == pytest.approx(0.1)
    assert 3 <= peak <= 5 and rates[peak] == pytest.approx(1.0, abs=0.01)
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1:]))
    assert rates[-1] == pytest.approx(0.01)


def test_a_checkpoint_round_trips_every_array_and_the_random_state(tmp_path):
    rng = np.random.default_rng(3)
    rng.random(5)
    state = {"step": 7, "history": [{"epoch": 1}], "rng": rng.bit_generator.state,
             "weights": [np.arange(6.0).reshape(2, 3), np.ones(4)], "optimizer": [np.zeros(2)],
             "ema": [np.full(3, 0.5)]}
    path = tmp_path / CHECKPOINT
    save_checkpoint(path, dict(state))
    back = load_checkpoint(path)
    assert back["step"] == 7 and back["history"] == [{"epoch": 1}]
    for key in ("weights", "optimizer", "ema"):
        assert len(back[key]) == len(state[key])
        assert all(np.array_equal(a, b) for a, b in zip(back[key], state[key]))
    resumed = np.random.default_rng(0)
    resumed.bit_generator.state = back["rng"]
    assert resumed.random() == rng.random()
    assert not list(tmp_path.glob("*.tmp.npz"))


def test_batch_plans_mix_a_share_of_batches_and_keep_labels_summing_to_one():
    rng = np.random.default_rng(0)
    weights = np.full(100, 0.01)
    plans = [batch_plan(rng, weights, 16, 160, mix_prob=0.5, mix_alpha=0.4) for _ in range(400)]
    mixed = [p for p in plans if p["lam"] < 1.0]
    assert 0.4 < len(mixed) / len(plans) < 0.6
    for p in mixed:
        assert 0.0 < p["lam"] < 1.0
        if p["box"][1] > p["box"][0]:  # cutmix: the label weight is the area kept
            y0, y1, x0, x1 = p["box"]
            assert p["lam"] == pytest.approx(1 - (y1 - y0) * (x1 - x0) / 160**2)


def small_manifest(tmp_path, manifest, train: slice, val: slice):
    """A manifest of a few of the split's training and validation images, for a run in seconds."""
    small = tmp_path / "manifest.csv"
    picked = [e for e in manifest if e.split == "train"][train] + [e for e in manifest if e.split == "val"][val]
    with open(small, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "group", "split"])
        w.writerows([e.path, e.label, e.group, e.split] for e in picked)
    return small


def test_a_stopped_run_resumes_where_its_checkpoint_left_it(tmp_path, data_root, manifest):
    pytest.importorskip("tensorflow")
    small = small_manifest(tmp_path, manifest, slice(0, 48, 3), slice(0, 40, 4))
    run = tmp_path / "run"
    common = [sys.executable, "-m", "ml.train"]
    first = subprocess.run([*common, "--out", str(run), "--manifest", str(small), "--data", str(data_root),
                            "--epochs", "2", "--steps", "2", "--batch", "8"],
                           capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr[-2000:]
    done = load_checkpoint(run / CHECKPOINT)
    assert done["step"] == 4 and [h["epoch"] for h in done["history"]] == [1, 2]
    # Give the run two more epochs and resume it: it continues from step 4, not from scratch.
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps(config | {"epochs": 4}))
    second = subprocess.run([*common, "--resume", str(run)], capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resumed at step 4" in second.stdout
    after = load_checkpoint(run / CHECKPOINT)
    assert after["step"] == 8 and [h["epoch"] for h in after["history"]] == [1, 2, 3, 4]
    assert not all(np.array_equal(a, b) for a, b in zip(after["weights"], done["weights"]))
    summary = json.loads((run / "training.json").read_text())
    assert summary["epochs_run"] == 4 and (run / "last.keras").exists()


def test_mixed_bfloat16_trains_but_saves_a_float32_network(tmp_path, data_root, manifest):
    """bf16 arithmetic is for the training step only: the evaluated, saved network is float32."""
    pytest.importorskip("tensorflow")
    import keras

    small = small_manifest(tmp_path, manifest, slice(0, 32, 2), slice(0, 16, 2))
    #  A non-MRI list beside the manifest: its image is left out of training, and the run says so.
    listed = next(e for e in read_manifest(small) if e.split == "train")
    (tmp_path / "not_mri.csv").write_text(f"path,kind\n{listed.path},CT\n")
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "ml.train", "--out", str(run), "--manifest", str(small),
                           "--data", str(data_root), "--epochs", "1", "--steps", "2", "--batch", "8",
                           "--precision", "mixed_bfloat16"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((run / "config.json").read_text())["precision"] == "mixed_bfloat16"
    summary = json.loads((run / "training.json").read_text())
    assert summary["precision"] == "mixed_bfloat16"  # for the card
    assert (summary["not_mri_left_out"], summary["train_images"]) == (1, 15)
    saved = keras.models.load_model(run / "last.keras")
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}
    assert all(w.dtype == "float32" for w in saved.weights)
    assert all(np.isfinite(w).all() for w in load_checkpoint(run / CHECKPOINT)["weights"])

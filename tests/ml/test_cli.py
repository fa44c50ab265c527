import json
import shutil
import subprocess
import sys

from ml.infer import CLASSES


def _run(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, check=False)


def test_predict_json_gives_one_line_per_file_and_fails_for_bad_ones(mri_files, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    out = _run("ml.predict", "--json", str(mri_files[0]), str(bad), str(tmp_path / "missing.jpg"), str(mri_files[1]))
    assert out.returncode == 1
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(mri_files[0]), str(bad), str(tmp_path / "missing.jpg"),
                                               str(mri_files[1])]
    for good in (lines[0], lines[3]):
        assert good["label"] in CLASSES
        assert 0.25 <= good["confidence"] <= 1.0
        assert set(good["probabilities"]) == set(CLASSES)
        assert isinstance(good["out_of_scope"], bool)
        assert good["ms"] > 0
    assert lines[1]["error"] and lines[2]["error"] == "file not found"


def test_predict_table_for_people_and_zero_exit_when_all_are_read(mri_files):
    out = _run("ml.predict", *map(str, mri_files[:3]))
    assert out.returncode == 0, out.stderr
    rows = out.stdout.splitlines()
    assert rows[0].split()[:3] == ["file", "label", "conf"]
    assert len(rows) == 4


def test_predict_batches_many_files(mri_files):
    out = _run("ml.predict", "--json", "--batch", "5", *map(str, mri_files))
    assert out.returncode == 0
    assert len(out.stdout.splitlines()) == len(mri_files)


def test_help_is_there_for_every_command():
    for module in ("ml.predict", "ml.evaluate", "ml.bench", "ml.train", "ml.data", "ml.export", "ml.compare"):
        out = _run(module, "--help")
        assert out.returncode == 0 and "usage:" in out.stdout, module


def test_evaluate_reads_both_folder_schemes_and_counts_unreadable_files(mri_files, tmp_path):
    for i, f in enumerate(mri_files):
        label = f.parent.name
        folder = tmp_path / ("setA" if i % 2 else "setB") / label
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, folder / f.name)
    (tmp_path / "setA" / mri_files[0].parent.name / "junk.jpg").write_bytes(b"junk")
    out = _run("ml.evaluate", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["n"] == len(mri_files)
    assert report["unreadable"] == 1
    assert sum(report["support"].values()) == len(mri_files)
    assert 0 <= report["ece"] <= 1
    text = _run("ml.evaluate", str(tmp_path)).stdout
    for word in ("accuracy", "macro F1", "confusion matrix", "expected calibration error", "unreadable files: 1"):
        assert word in text

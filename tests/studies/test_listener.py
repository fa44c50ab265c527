"""The C-STORE receiver with a real pynetdicom sender, the real model and PostgreSQL."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import EnhancedMRImageStorage, JPEGLSLossless

from scans.models import Scan, Series, Slice, Study
from tests.helpers import stored_files
from tests.studies.conftest import associate
from tests.studies.series import instance, mr_series, slice_paths

pytestmark = pytest.mark.django_db(transaction=True)


def send(port: int, datasets, release: bool = True, **kwargs) -> list[int]:
    assoc = associate(port, **kwargs)
    assert assoc.is_established
    statuses = [assoc.send_c_store(ds).Status for ds in datasets]
    if release:
        assoc.release()
    else:
        assoc.abort()
    return statuses


def test_a_series_is_stored_de_identified_grouped_and_classified_slice_by_slice(listener):
    run = listener()
    datasets = mr_series("glioma", 8)
    assert send(run.listener.address[1], datasets) == [0] * 8
    [series_id] = run.wait_stored()
    series = Series.objects.select_related("study__owner").get(pk=series_id)
    assert series.status == Series.DONE
    assert series.study.owner.username == "pacs" and not series.study.owner.has_usable_password()
    assert series.study.patient_ref.startswith("dcm-")
    slices = list(series.slices.select_related("scan__prediction"))
    assert len(slices) == 8 and all(s.scan.prediction.model_version for s in slices)
    assert sum(series.result["counts"].values()) + series.result["out_of_scope"] == 8
    assert {s.scan.patient_ref for s in slices} == {series.study.patient_ref}
    assert {s.scan.format for s in slices} == {"DICOM"} and all(s.scan.patient_id for s in slices)
    #  The 16-bit slice keeps the sent values exactly (windowing works after de-identification).
    with slices[0].pixels.open("rb") as fh:
        stored = np.asarray(Image.open(fh)).astype(np.int64) + int(slices[0].offset)
    assert np.array_equal(stored, datasets[0].pixel_array.astype(np.int64))


def test_a_ct_series_is_refused_with_a_failure_status_and_nothing_is_stored(listener, settings):
    run = listener()
    ct = mr_series("glioma", 3, modality="CT")
    mr_class_but_ct = mr_series("glioma", 1, series=2)
    mr_class_but_ct[0].Modality = "CT"
    statuses = send(run.listener.address[1], ct + mr_class_but_ct)
    assert statuses == [0x0122, 0x0122, 0x0122, 0xA900]
    time.sleep(0.5)
    assert not Study.objects.exists() and not Slice.objects.exists() and not Scan.objects.exists()
    assert stored_files(settings) == []


def test_a_broken_association_stores_no_half_series(listener, settings):
    run = listener()
    assert send(run.listener.address[1], mr_series("glioma", 5), release=False) == [0] * 5
    time.sleep(1.0)
    assert not Series.objects.exists() and not Scan.objects.exists()
    assert stored_files(settings) == []


def test_the_same_instance_sent_twice_is_stored_once(listener):
    run = listener()
    datasets = mr_series("meningioma", 4)
    send(run.listener.address[1], datasets)
    run.wait_stored(1)
    send(run.listener.address[1], datasets[:2] + datasets[:2])
    time.sleep(1.0)
    assert Slice.objects.count() == 4 and Series.objects.count() == 1 and len(run.stored) == 1


def test_callers_outside_the_allowed_ae_titles_are_refused(listener):
    run = listener(allowed=["ORTHANC"])
    assert not associate(run.listener.address[1], calling="INTRUDER").is_established
    assert send(run.listener.address[1], mr_series("glioma", 1), calling="ORTHANC") == [0]


def test_a_series_completes_after_its_idle_time_while_the_association_stays_open(listener):
    run = listener(idle_s=1)
    assoc = associate(run.listener.address[1])
    for ds in mr_series("pituitary", 3):
        assert assoc.send_c_store(ds).Status == 0
    stored = run.wait_stored(1, timeout=15)
    assert assoc.is_established and len(stored) == 1
    assoc.release()
    assert Series.objects.get().slices.count() == 3


def test_a_multi_frame_instance_is_classified_frame_by_frame(listener):
    run = listener()
    frames = []
    for path in slice_paths("glioma", 4):
        with Image.open(path) as img:
            frames.append(np.asarray(img.convert("L").resize((256, 256)), np.uint16) * 16)
    ds = instance(np.stack(frames), 1)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = EnhancedMRImageStorage
    assert send(run.listener.address[1], [ds]) == [0]
    [series_id] = run.wait_stored()
    slices = list(Slice.objects.filter(series_id=series_id).select_related("scan__prediction"))
    assert [s.frame for s in slices] == [1, 2, 3, 4]
    assert len({s.scan_id for s in slices}) == 4 and all(s.scan.prediction for s in slices)


def test_a_jpeg_ls_compressed_instance_is_decoded_losslessly(listener):
    run = listener()
    ds = mr_series("notumor", 1)[0]
    original = ds.pixel_array.copy()
    ds.compress(JPEGLSLossless)
    assert send(run.listener.address[1], [ds], syntaxes=[JPEGLSLossless]) == [0]
    run.wait_stored()
    s = Slice.objects.get()
    with s.pixels.open("rb") as fh:
        assert np.array_equal(np.asarray(Image.open(fh)).astype(np.int64) + int(s.offset), original)


def truncated(ds):
    """The instance with half its pixel data gone: its header still declares every byte."""
    ds.PixelData = ds.PixelData[: len(ds.PixelData) // 2]
    return ds


def test_an_instance_whose_pixels_cannot_be_decoded_is_refused_and_the_rest_are_stored(listener, settings):
    run = listener()
    good = mr_series("glioma", 3)
    broken = truncated(mr_series("glioma", 1, series=1)[0])
    broken.SOPInstanceUID = broken.file_meta.MediaStorageSOPInstanceUID = broken.SOPInstanceUID + ".9"
    assert send(run.listener.address[1], good[:1] + [broken] + good[1:]) == [0, 0xC000, 0, 0]
    [series_id] = run.wait_stored()
    assert Slice.objects.filter(series_id=series_id).count() == 3 and run.listener.dropped == 0


def test_a_compressed_instance_that_does_not_decode_is_refused_and_nothing_is_stored(listener, settings):
    run = listener()
    ds = mr_series("notumor", 1)[0]
    ds.compress(JPEGLSLossless)
    frame = ds.PixelData
    ds.PixelData = frame[:40] + bytes(len(frame) - 40)  # the JPEG-LS stream's header, then zeros
    assert send(run.listener.address[1], [ds], syntaxes=[JPEGLSLossless]) == [0xC000]
    time.sleep(0.5)
    assert not Study.objects.exists() and not Slice.objects.exists() and stored_files(settings) == []


def test_instances_are_completed_in_worker_processes_and_a_killed_worker_is_replaced(listener, settings):
    """The association thread only screens; de-identification and encoding run in spawned processes.
    A worker killed between series (out of memory, an operator's kill) costs the next series nothing."""
    import os
    import signal

    from scans.studies import workers

    settings.DICOM_WORK_PROCESSES = 1
    run = listener()
    executor = workers.pool()
    pids = list(executor._processes)
    assert pids and os.getpid() not in pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not executor._broken and time.monotonic() < deadline:  # the executor notices its dead worker
        time.sleep(0.05)
    assert executor._broken
    assert send(run.listener.address[1], mr_series("glioma", 4)) == [0] * 4
    [series_id] = run.wait_stored()
    assert Slice.objects.filter(series_id=series_id).count() == 4 and run.listener.dropped == 0
    assert workers.pool() is not executor and not set(workers.pool()._processes) & set(pids)


def test_with_no_worker_processes_the_listener_completes_instances_on_its_own_threads(listener, settings):
    settings.DICOM_WORK_PROCESSES = 0
    run = listener()
    assert not run.listener._processes
    datasets = mr_series("glioma", 3)
    assert send(run.listener.address[1], datasets) == [0] * 3
    [series_id] = run.wait_stored()
    slices = list(Slice.objects.filter(series_id=series_id))
    assert len(slices) == 3 and run.listener.dropped == 0
    with slices[0].pixels.open("rb") as fh:
        stored = np.asarray(Image.open(fh)).astype(np.int64) + int(slices[0].offset)
    assert any(np.array_equal(stored, ds.pixel_array.astype(np.int64)) for ds in datasets)


def test_a_worker_error_is_logged_by_its_type_only_and_costs_that_instance_alone(caplog):
    from concurrent.futures import Future

    from scans.studies import workers

    failed = Future()
    failed.set_exception(ValueError("Doe^Jane 1970-01-01"))  # an error message quoting the instance
    dropped = Future()
    dropped.set_result("the image cannot be decoded")
    with caplog.at_level("WARNING", logger="scans.studies.workers"):
        assert workers.frames_of(failed) == [] and workers.frames_of(dropped) == []
    assert "ValueError" in caplog.text and "Doe" not in caplog.text and "1970" not in caplog.text
    assert workers.complete_file(b"not DICOM at all", "series", {}) == "the data set cannot be read"

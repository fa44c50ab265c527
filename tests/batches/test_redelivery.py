"""A task delivered twice stores nothing twice (in-process; the Redis path is in test_worker.py)."""

from scans.batches.tasks import enqueue_batch, resume_unfinished
from scans.batches.work import settle_items
from scans.models import BatchItem, BatchJob, Prediction
from tests.batches.helpers import good_files, post_batch
from tests.helpers import client_for


def test_settling_the_same_items_again_changes_nothing(owner):
    post_batch(client_for(owner), good_files(3))
    ids = list(BatchItem.objects.values_list("pk", flat=True))
    before = list(Prediction.objects.values_list("pk", "scan_id"))
    assert settle_items(ids) == 0
    assert enqueue_batch(BatchJob.objects.get().pk) == 0
    assert list(Prediction.objects.values_list("pk", "scan_id")) == before


def test_an_unfinished_batch_is_picked_up_again(owner):
    post_batch(client_for(owner), good_files(3))
    batch = BatchJob.objects.get()
    lost = batch.items.get(position=2)
    Prediction.objects.filter(scan=lost.scan).delete()
    lost.scan.delete()
    BatchItem.objects.filter(pk=lost.pk).update(status="pending", scan=None, settled=None)
    BatchJob.objects.update(finished=None)
    assert resume_unfinished() == 1  # its staged file is gone, so the item fails with a reason
    lost.refresh_from_db()
    assert lost.status == "failed" and lost.error_code == "file_lost"
    assert BatchJob.objects.get().finished is not None

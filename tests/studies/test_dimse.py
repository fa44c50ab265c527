"""A store the peer answered is never reported as failed because pynetdicom's reactor thread took
its response (scans.studies.dimse). The race is made certain here: the reactor is never paused and
the sender reads its response only after the reactor has had it."""

from __future__ import annotations

import threading
import time
import types
from contextlib import contextmanager

import pytest
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import MRImageStorage

from scans.studies import dimse
from tests.studies.series import mr_series

pytestmark = pytest.mark.django_db(transaction=True)


class Racing(Association):
    """send_c_store() finds the reactor paused at once (the flag it reads says so) while the reactor
    goes on turning: the state pynetdicom's race leaves for one turn, held for the whole send."""

    @property
    def _is_paused(self):
        return True

    @_is_paused.setter
    def _is_paused(self, value):
        pass


@contextmanager
def race(assoc):
    """While inside, the reactor runs during send_c_store(), and send_c_store() reads its response
    only once the reactor has taken a message off the queue (and dropped it, or put it back)."""
    checkpoint, get_msg, serve = assoc._reactor_checkpoint, assoc.dimse.get_msg, assoc._serve_request
    taken = threading.Event()

    def seen(msg, context_id):
        serve(msg, context_id)
        taken.set()

    def late(self, block=False):
        if block:
            taken.wait(10)
        return get_msg(block)

    assoc.__class__ = Racing
    checkpoint.clear = lambda: None
    assoc._serve_request = seen
    assoc.dimse.get_msg = types.MethodType(late, assoc.dimse)
    try:
        yield
    finally:
        assoc.__class__ = Association
        assoc._serve_request = serve
        del checkpoint.clear, assoc.dimse.get_msg


def sender() -> AE:
    ae = AE(ae_title="TESTSCU")
    ae.dimse_timeout = 3
    ae.add_requested_context(MRImageStorage)
    return ae


def test_a_response_the_reactor_takes_reaches_the_waiting_store(listener):
    run = listener()
    [ds] = mr_series("glioma", 1)

    plain = sender().associate("127.0.0.1", run.listener.address[1], ae_title="NEUROLENS")
    with race(plain):
        lost = plain.send_c_store(ds)
    assert "Status" not in lost and plain.is_aborted  # pynetdicom alone: the answer is dropped

    kept = dimse.associate(sender(), "127.0.0.1", run.listener.address[1], "NEUROLENS")
    started = time.monotonic()
    with race(kept):
        status = kept.send_c_store(ds)
    assert status.Status == 0x0000 and time.monotonic() - started < 2
    kept.release()
    [series_id] = run.wait_stored()
    assert series_id

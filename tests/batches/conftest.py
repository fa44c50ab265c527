import threading

import pytest

from scans.batches import inprocess


@pytest.fixture
def held_thread(settings):
    """The in-process batch thread on, and busy until the test lets it go (so that "not yet done" is
    certain, not a race); idle again before the database is emptied. Needs a transactional test:
    the thread has its own connection and sees only what is committed."""
    settings.BATCH_BACKGROUND = True
    gate = threading.Event()
    inprocess.submit(gate.wait, 120)
    yield gate
    gate.set()
    assert inprocess.wait(300)

"""gunicorn --preload loads the model in the master, then forks the web workers: a forked child must
classify as its parent does, with an interpreter of its own (the parent's thread pool is not in it)."""

import json
import os
import select

from ml.infer import get_classifier
from ml.preprocess import load_image


def _in_child(work, timeout: float = 60.0):
    """Run `work` in a forked child; its JSON answer, or an AssertionError if it hangs or fails."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer, then leave without running the parent's cleanup
        try:
            os.write(write, json.dumps(work()).encode())
        finally:
            os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], timeout)
        if not ready:
            os.kill(pid, 9)
            raise AssertionError(f"the forked child did not answer within {timeout} s")
        answer = b"".join(iter(lambda: os.read(read, 65536), b""))
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    assert answer, "the forked child failed before answering"
    return json.loads(answer)


def test_a_forked_child_classifies_exactly_as_its_parent(mri_files):
    images = [load_image(f) for f in mri_files[:6]]
    clf = get_classifier()
    expected = [r.probabilities for r in clf.classify(images)]  # the parent's thread pool has run

    def child():
        return [r.probabilities for r in get_classifier().classify(images)] + \
            [get_classifier().classify(images[:1])[0].probabilities]

    answer = _in_child(child)
    assert answer == [*expected, expected[0]]
    #  The parent's own interpreter still answers after the fork.
    assert [r.probabilities for r in clf.classify(images)] == expected

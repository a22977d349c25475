import numpy as np
import pytest

from parity.engine.errors import UsageError
from parity.engine.model import Status
from parity.engine.pool import Worker


@pytest.fixture
def worker(tmp_path):
    w = Worker("faulty", tmp_path / "faulty.log", module="tests.faulty_runner", timeout=3.0)
    yield w
    w.stop()


def _run(w: Worker, action: str, features: np.ndarray | None = None):
    """One case; ``features`` of another rank make a case of another structure (parity.engine.pool.structure),
    whose crash restarts the worker instead of running in the child isolating the first structure's."""
    w.send({"case_id": action}, {"features": np.ones(3) if features is None else features})
    return w.receive(action)


def test_ok_result_survives_framework_printing_to_stdout(worker):
    r = _run(worker, "fine")
    assert r.status is Status.OK
    np.testing.assert_array_equal(r.outputs["out"], np.full(3, 2.0))


def test_segfault_is_crash_with_signal_name_and_worker_restarts(worker):
    r = _run(worker, "segfault")
    assert r.status is Status.CRASH
    assert "SIGSEGV" in r.message
    assert _run(worker, "fine").status is Status.OK


def test_hang_is_timeout_and_worker_restarts(worker):
    r = _run(worker, "hang")
    assert r.status is Status.TIMEOUT
    assert _run(worker, "fine").status is Status.OK


def test_raise_is_error_without_cxx_stack(worker):
    r = _run(worker, "raise")
    assert r.status is Status.ERROR
    assert r.message == "RuntimeError: bad input"


def test_missing_interpreter_is_a_usage_error(tmp_path):
    w = Worker("faulty", tmp_path / "x.log", module="tests.faulty_runner", python=str(tmp_path / "nope"))
    with pytest.raises(UsageError, match="not found"):
        w.ensure_started()


def test_queued_cases_survive_a_crash_of_the_case_before_them(worker):
    for action in ("fine", "segfault", "fine", "hang", "fine"):
        worker.send({"case_id": action}, {"features": np.ones(3)})
    statuses = [worker.receive(action).status for action in ("fine", "segfault", "fine", "hang", "fine")]
    assert statuses == [Status.OK, Status.CRASH, Status.OK, Status.TIMEOUT, Status.OK]


@pytest.mark.parametrize("action, said", [("lying-reply", "malformed reply"), ("cut-reply", "exit code 3")])
def test_a_lying_or_cut_reply_is_a_crash_of_that_case_and_the_worker_restarts(worker, action, said):
    r = _run(worker, action)
    assert r.status is Status.CRASH and said in r.message
    assert _run(worker, "fine").status is Status.OK


def test_a_text_array_crosses_from_a_real_worker(worker):
    r = _run(worker, "text")
    assert r.status is Status.OK and r.outputs["why"].item() == "InvalidInput: window outside the image"


def test_after_a_first_restart_a_spare_worker_takes_over_the_next_loss(worker):
    """A runner that lost one worker gets a spare started behind its replacement: the next crash
    or timeout hands the queue to that process (imports done), and a new spare follows it."""
    assert _run(worker, "fine").status is Status.OK and worker._spare is None  # no loss, no spare
    assert _run(worker, "segfault").status is Status.CRASH
    assert _run(worker, "fine").status is Status.OK
    spare = worker._spare
    assert spare is not None and spare.poll() is None
    assert _run(worker, "hang").status is Status.TIMEOUT
    assert _run(worker, "fine").status is Status.OK
    assert worker.proc is not None and worker.proc.pid == spare.pid
    assert worker._spare is not None and worker._spare.pid != spare.pid
    last = worker._spare
    worker.stop()
    assert last.poll() is not None and spare.poll() is not None  # stop ends the spare too


def test_a_spare_that_died_before_its_turn_is_replaced_by_a_fresh_worker(worker):
    assert _run(worker, "segfault").status is Status.CRASH
    assert _run(worker, "fine").status is Status.OK
    assert worker._spare is not None
    worker._spare.kill()
    worker._spare.wait()
    assert _run(worker, "segfault", np.ones((3, 1))).status is Status.CRASH
    assert _run(worker, "fine").status is Status.OK


def test_a_spare_that_fails_after_its_promotion_gives_way_to_a_fresh_worker(worker):
    """A spare still importing when its turn comes, which then dies without a hello: the restart
    falls back to a fresh process instead of ending the run."""
    import subprocess
    import sys

    assert _run(worker, "segfault").status is Status.CRASH
    assert _run(worker, "fine").status is Status.OK
    worker._spare.kill()
    worker._spare.wait()
    doomed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    worker._spare = doomed
    assert _run(worker, "segfault", np.ones((3, 1))).status is Status.CRASH
    assert _run(worker, "fine").status is Status.OK
    assert doomed.poll() is not None and worker.proc is not None and worker.proc.pid != doomed.pid

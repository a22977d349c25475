"""parity.engine.threads: how work is cut, and that every share runs and its failure surfaces."""
import threading

import pytest

from parity.engine.threads import run_all, spans


@pytest.mark.parametrize("n, parts", [(10, 3), (3, 7), (1, 1), (256, 2), (5, 1)])
def test_spans_cover_the_range_once_in_order_with_near_equal_shares(n, parts):
    cut = spans(n, parts)
    assert [i for a, b in cut for i in range(a, b)] == list(range(n))
    assert len(cut) == min(n, parts)
    sizes = [b - a for a, b in cut]
    assert max(sizes) - min(sizes) <= 1


def test_nothing_to_cut_gives_no_spans():
    assert spans(0, 4) == []


def test_every_call_runs_on_its_own_thread_and_the_first_here():
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(3, timeout=10)  # all three must be running at once to pass it

    def call(i: int) -> None:
        barrier.wait()
        with lock:
            seen.append((i, threading.get_ident()))

    run_all([lambda i=i: call(i) for i in range(3)])
    assert sorted(i for i, _ in seen) == [0, 1, 2]
    assert len({t for _, t in seen}) == 3
    assert dict(seen)[0] == threading.get_ident()


def test_a_failing_share_raises_after_all_have_finished():
    done: list[int] = []

    def fail() -> None:
        raise ValueError("share 1 failed")

    def slow() -> None:
        threading.Event().wait(0.05)
        done.append(2)

    with pytest.raises(ValueError, match="share 1 failed"):
        run_all([lambda: done.append(0), fail, slow])
    assert sorted(done) == [0, 2]


def test_a_forked_child_runs_shares_on_threads_of_its_own():
    """A worker forks for an isolated case: the parent's pool threads are not in the child, and
    ``run_all`` there must start its own instead of waiting on them."""
    import os
    import signal

    run_all([lambda: None, lambda: None])  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: finish within 10 s or be killed by the alarm
        signal.alarm(10)
        done: list[int] = []
        run_all([lambda: done.append(0), lambda: done.append(1)])
        os._exit(0 if sorted(done) == [0, 1] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

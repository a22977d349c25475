"""The invalid suite end to end: a framework that segfaults is CRASH, and the run goes on."""
import json

from tests.test_cli import parity


def test_a_segfault_is_recorded_and_every_other_case_finishes(tmp_path):
    r = parity("run", "--suite", "invalid", "-k", "batch-index", "--out", str(tmp_path), "--timeout", "60")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]  # every reaction is declared
    doc = json.loads((tmp_path / "parity.json").read_text())
    ids = {c["id"] for c in doc["cases"]}
    assert len(ids) == 5 and "roi_align[invalid]-batch-index-huge" in ids
    matrix = {row["case"]: row for row in doc["robustness"]}
    huge = matrix["roi_align[invalid]-batch-index-huge"]
    assert huge["behaviours"]["torchvision"].startswith("crash") and "SIGSEGV" in huge["behaviours"]["torchvision"]
    assert huge["behaviours"]["mindspore"].startswith("raises")
    assert huge["dangerous"] == ["torchvision"]
    out_of_range = matrix["roi_align[invalid]-batch-index-out-of-range"]
    assert out_of_range["dangerous"] == ["torchvision"]  # silent output where MindSpore raises
    assert "robustness" in r.stdout and "SIGSEGV" in r.stdout


def test_the_robustness_table_reads_at_80_columns():
    """Each cell names the behaviour and its exception or signal in a few words; no line passes 80."""
    import io

    from rich.console import Console

    from parity.reporters import terminal
    from parity.engine.summary import RobustnessRow
    from parity.reporters.terminal import short_behaviour

    assert short_behaviour("raises: RuntimeError: roi_align_forward_kernel, /__w/vision/...: boxes") == "raises RuntimeError"
    assert short_behaviour("crash: worker process died (SIGSEGV)") == "crash SIGSEGV"
    assert short_behaviour("output with NaN/Inf") == "output with NaN/Inf"
    assert short_behaviour("raises: cannot allocate") == "raises"
    buffer = io.StringIO()
    narrow = Console(file=buffer, width=80, no_color=True)
    rows = [RobustnessRow(
        "roi_align[aligned=0,sr=2,out=2x3,s=1]-f32-random-dtype-mismatch-s0-1234",
        {"torchvision": "raises: RuntimeError: " + "x" * 200, "mindspore": "crash: worker process died (SIGSEGV)", "reference": "output"},
        ("mindspore",),
    )]
    terminal.print_robustness(narrow, rows, ["torchvision", "mindspore", "reference"])
    text = buffer.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "raises RuntimeError" in text and "! crash SIGSEGV" in text and "x" * 20 not in text
    header = next(line for line in text.splitlines() if "torchvision" in line)
    assert all(name in header for name in ("case", "mindspore", "reference"))  # no column cropped
    assert "output" in text


def test_a_long_robustness_matrix_is_one_row_per_kind_of_reaction_in_the_terminal():
    """Past ROBUSTNESS_ROWS cases the terminal counts each kind of reaction; the reports keep every case."""
    import io

    from rich.console import Console

    from parity.engine.summary import RobustnessRow
    from parity.reporters import terminal

    crash = {"torchvision": "crash: worker process died (SIGSEGV)", "mindspore": "output", "reference": "raises: InvalidInput: x"}
    raises = {"torchvision": "raises: RuntimeError: y", "mindspore": "raises: ValueError: z", "reference": "raises: InvalidInput: x"}
    rows = [RobustnessRow(f"crash-{i}", crash, ("torchvision", "mindspore")) for i in range(30)]
    rows += [RobustnessRow(f"raise-{i}", raises, ()) for i in range(terminal.ROBUSTNESS_ROWS)]
    buffer = io.StringIO()
    terminal.print_robustness(Console(file=buffer, width=200, no_color=True), rows, ["torchvision", "mindspore", "reference"])
    text = buffer.getvalue()
    assert f"{len(rows)} cases in 2 kinds of reaction" in text
    lines = [line for line in text.splitlines() if "crash-" in line or "raise-" in line]
    assert len(lines) == 2
    cells = [[c.strip() for c in line.split("│")[1:3]] for line in lines]
    assert cells == [[str(terminal.ROBUSTNESS_ROWS), "raise-0"], ["30", "crash-0"]]  # the most frequent first
    assert "! crash SIGSEGV" in lines[1] and "! output" in lines[1]

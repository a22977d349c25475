"""Case ids, messages and names from strangers cannot hijack what parity prints or writes.

Markdown is parsed with markdown-it-py (CommonMark plus GFM tables, as GitHub renders a job
summary), HTML with html.parser, JUnit with ElementTree; a printed repro command is pasted into
bash, into a folder where a fake ``parity`` records its arguments, and into parity's own option
parser.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from markdown_it import MarkdownIt

from parity.engine import commands, text
from parity.ops.roi_align import fixtures, generate
from parity.engine.model import Comparison, Metrics, Tolerance, Verdict
from parity.reporters import html, junit, markdown, terminal, write_all
from parity.engine.session import RunReport, arrays_path

ROOT = Path(__file__).resolve().parent.parent

#: Each breaks something when printed raw: live HTML, a table, a code span, a shell line, a terminal.
HOSTILE_IDS = [
    "<img src=x onerror=alert(1)>",
    "a|b||c",
    "tick`in`side",
    "``double`` and `single`",
    "`starts and ends with a backtick`",
    " padded ",
    "'; touch PWNED; '",
    "$(touch PWNED)",
    "`touch PWNED`",
    '"; touch PWNED; "',
    "x\\'y\\",
    "-k",
    "--out=/tmp/elsewhere",
    "--",
    "esc\x1b[31mred\x1b]0;title\x07\x1b[0m",
    "two\nlines\r\n\tand tab",
    "nul\x00del\x7fc1\x85",
    "bidi\u202eevil\u2066",
    "*em* _em_ ~~del~~ $x$ [link](javascript:alert(1)) ![i](x) &lt;b&gt; &amp;",
    "</details><script>alert(1)</script>",
    "<!-- open comment",
    "trailing backslash\\",
    "[bold red]rich markup[/]",
    "../../outside/of/arrays",
    "/etc/passwd",
]
MESSAGE = "RuntimeError: <img src=x onerror=alert(1)> | `code` *b* \x1b[2J [bold]x[/]\nsecond line"
RUNNERS = ("torchvision", "mindspore", "reference")
TOL = Tolerance(1.3e-6, 1e-5, "synthetic")
METRICS = Metrics(12, 3, 0.5, (0, 0, 0, 0), 0.1, 4.0, 0)


def hostile_report() -> RunReport:
    report = RunReport("standard", RUNNERS, {"torch": "2.<b>|x`", "esc\x1b[1m": "1"}, "x86_64 <i>Linux</i> | \x1b[5m")
    for case_id in HOSTILE_IDS:
        report.comparisons += [
            Comparison(case_id, "torchvision", "reference[torchvision aligned=False]", Verdict.PASS, TOL, METRICS, "ok"),
            Comparison(case_id, "mindspore", "reference[mindspore roi_end_mode=1]", Verdict.MISMATCH, TOL, METRICS, MESSAGE),
        ]
        report.behaviours[case_id] = {"torchvision": "raises <b>|x</b>\nline", "mindspore": "output", "reference": "raises"}
        report.determinism[case_id] = {"torchvision": {"out": {"distinct": 2, "spread": 1e-7}}}
    report.cases, report.wall_seconds, report.startup_seconds = len(HOSTILE_IDS), 1.0, 0.5
    return report


def _tokens(source: str) -> list:
    parser = MarkdownIt("commonmark").enable("table")
    out = []
    for tok in parser.parse(source):
        out.append(tok)
        out.extend(tok.children or ())
    return out


# ---------------------------------------------------------------- Markdown (item 9)


def _assert_only_own_html(tokens: list) -> None:
    raw = [t.content for t in tokens if t.type in ("html_block", "html_inline")]
    assert raw, "the collapsible sections are there"
    for block in raw:  # only parity's own <details>/<summary> lines are HTML
        assert re.fullmatch(r"(<details><summary>[^<>]*</summary>|</details>)\s*", block), block


def test_markdown_renders_hostile_data_as_text():
    source = markdown.render(hostile_report(), [])
    tokens = _tokens(source)
    _assert_only_own_html(tokens)
    assert not [t for t in tokens if t.type in ("image", "link_open", "s_open")]
    emphasised = [t for t in tokens if t.type == "em_open"]
    assert not emphasised  # ``*em*`` and ``_em_`` from data are literal (parity's own **bold** is strong)
    codes = [t.content for t in tokens if t.type == "code_inline"]
    for case_id in HOSTILE_IDS:  # each id shows exactly, as one code span (control characters as escapes)
        assert text.visible(case_id) in codes, case_id
    words = "".join(t.content for t in tokens if t.type == "text")
    assert "RuntimeError: <img src=x onerror=alert(1)> | `code` *b* \\x1b[2J [bold]x[/]\\nsecond line" in words
    assert "2.<b>|x`" in words and "x86_64 <i>Linux</i> | \\x1b[5m" in words


def test_markdown_tables_keep_their_columns():
    source = markdown.render(hostile_report(), [])
    tokens = _tokens(source)
    tables, cells = [], None
    for t in tokens:
        if t.type == "table_open":
            tables.append([])
        elif t.type == "tr_open":
            cells = 0
        elif t.type in ("th_open", "td_open"):
            cells += 1
        elif t.type == "tr_close":
            tables[-1].append(cells)
    # verdict counts, robustness matrix, determinism, all comparisons
    assert len(tables) == 4
    for rows in tables:
        assert len(set(rows)) == 1, rows
    comparisons = tables[-1]
    assert len(comparisons) == 1 + 2 * len(HOSTILE_IDS) and comparisons[0] == 7
    first_cells = []
    inside, column = False, 0
    for t in tokens:
        if t.type == "tbody_open":
            inside = True
        elif t.type == "tr_open":
            column = 0
        elif t.type == "td_open":
            column += 1
        elif inside and column == 1 and t.type == "code_inline":
            first_cells.append(t.content)
    # in table cells too, the id comes back exactly (GitHub drops the backslash of \| before parsing)
    assert set(first_cells) == {text.visible(i) for i in HOSTILE_IDS}


def test_code_spans_take_any_backticks():
    for sample in ["`", "``", "a``b`", "` x `", " ", "|", ""]:
        [tok] = [t for t in _tokens("x " + text.markdown_code(sample)) if t.type == "code_inline"]
        assert tok.content == (sample or " ")
        [cell] = [t for t in _tokens(f"| h |\n|---|\n| {text.markdown_code(sample, cell=True)} |\n") if t.type == "code_inline"]
        assert cell.content == (sample or " ")


def test_step_summary_is_escaped_too(tmp_path, monkeypatch):
    step = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    write_all(hostile_report(), [], tmp_path)
    tokens = _tokens(step.read_text())
    assert not [t for t in tokens if t.type in ("html_block", "html_inline")]  # the summary has no HTML of its own
    assert not [t for t in tokens if t.type in ("image", "link_open", "s_open", "em_open")]


# ---------------------------------------------------------------- HTML and JUnit (item 9)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.links: list[str] = []
        self.ids: list[str] = []
        self.repros: list[str] = []
        self._open: list[tuple[str, str]] = []  # (tag, class) of the open elements

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "a":
            self.links.append(a.get("href", ""))
        if tag not in ("meta", "input", "line", "rect"):  # void or self-closed
            self._open.append((tag, a.get("class") or ""))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self._open and self._open[-1] == ("td", "id"):
            self.ids.append(data)
        elif self._open[-2:] == [("p", "repro"), ("code", "")]:
            self.repros.append(data)


def test_html_shows_hostile_data_as_text(tmp_path):
    report = hostile_report()
    page = html.render(report, [], tmp_path)
    parsed = _Tags()
    parsed.feed(page)
    assert parsed.tags <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "nav", "a", "section", "p", "div", "table",
        "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd", "ul", "li", "b", "code", "pre", "span", "label",
        "input", "figure", "figcaption", "svg", "line", "text", "rect", "details", "summary", "button",
        "script",
    }
    assert page.count("<script") == 1 and "<img" not in page
    assert all(h.startswith("#") for h in parsed.links)
    assert set(parsed.ids) == {text.visible(i) for i in HOSTILE_IDS}
    assert "\x1b" not in page and "\x00" not in page
    assert len(parsed.repros) == len(HOSTILE_IDS)
    for line, case_id in zip(parsed.repros, HOSTILE_IDS):
        if case_id in SHELL_IDS:
            _assert_pastes_safely(line, tmp_path)


def test_junit_is_valid_xml_with_every_hostile_id(tmp_path):
    report = hostile_report()
    path = tmp_path / "parity.xml"
    junit.write(report, [], path)
    cases = ET.parse(path).getroot().find("testsuite").findall("testcase")
    assert [c.get("name") for c in cases] == [text.visible(c.case_id) for c in report.comparisons]
    failures = [c.find("failure") for c in cases if c.find("failure") is not None]
    assert len(failures) == len(HOSTILE_IDS)
    for f, case_id in zip(failures, HOSTILE_IDS):
        [line] = [ln for ln in f.text.splitlines() if ln.startswith("repro: ")]
        if case_id in SHELL_IDS:
            _assert_pastes_safely(line[len("repro: "):], tmp_path)


# ---------------------------------------------------------------- the repro command (item 10)


def _fake_parity(tmp_path: Path) -> Path:
    """A folder with a ``parity`` that records its arguments (nothing else is there to run)."""
    bin_dir = tmp_path / "fakebin"
    if not bin_dir.exists():
        bin_dir.mkdir()
        fake = bin_dir / "parity"
        fake.write_text(
            f"#!{sys.executable}\nimport json, os, sys\n"
            "with open(os.environ['ARGV_FILE'], 'w', encoding='utf-8', errors='surrogateescape') as f:\n"
            "    json.dump(sys.argv[1:], f)\n"
        )
        fake.chmod(0o755)
    return bin_dir


def _paste(line: str, tmp_path: Path) -> list[str]:
    """Paste ``line`` into bash in an empty folder; returns the fake parity's arguments."""
    work = tmp_path / "paste"
    work.mkdir(exist_ok=True)
    argv_file = tmp_path / "argv.json"
    argv_file.unlink(missing_ok=True)
    env = {**os.environ, "PATH": f"{_fake_parity(tmp_path)}{os.pathsep}{os.environ['PATH']}", "ARGV_FILE": str(argv_file)}
    r = subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert list(work.iterdir()) == [], "the pasted line ran a command of its own"
    assert not (tmp_path / "PWNED").exists()
    return json.loads(argv_file.read_text(encoding="utf-8", errors="surrogateescape"))


def _assert_pastes_safely(line: str, tmp_path: Path) -> None:
    argv = _paste(line, tmp_path)
    assert argv[0] == "run" and argv[-2] == "-k" and argv[-1] in SHELL_IDS, argv


#: No command line can hold a NUL (C strings end there): an id with one cannot round-trip through -k.
SHELL_IDS = [i for i in HOSTILE_IDS if "\x00" not in i]


@pytest.mark.parametrize("case_id", SHELL_IDS)
def test_repro_command_round_trips_through_bash_and_the_cli(case_id, tmp_path):
    from parity.shells.cli import run

    line = commands.repro("standard", case_id, RUNNERS)
    assert "\n" not in line and "\x1b" not in line
    argv = _paste(line, tmp_path)
    assert argv == ["run", "--suite", "standard", "--runners", "torchvision,mindspore", "-k", case_id]
    ctx = run.make_context("run", argv[1:])  # parity's own parser: -k gets the id, nothing else changes
    assert ctx.params["keyword"] == case_id and ctx.params["suite"] == "standard"
    assert ctx.params["runners"] == "torchvision,mindspore" and str(ctx.params["out_dir"]) == "reports"


def test_markdown_repro_lines_paste_safely(tmp_path):
    source = markdown.render(hostile_report(), [])
    tokens = _tokens(source)
    lines = [b.content for a, b in zip(tokens, tokens[1:]) if a.type == "text" and a.content.endswith("repro: ") and b.type == "code_inline"]
    assert len(lines) == len(HOSTILE_IDS)
    got = [_paste(line, tmp_path)[-1] for line in lines]
    assert [g for g, i in zip(got, HOSTILE_IDS) if i in SHELL_IDS] == SHELL_IDS


def test_commands_in_messages_are_quoted(tmp_path):
    folder = tmp_path / "it's $(touch PWNED) here"
    argv = _paste(commands.resume(folder), tmp_path)
    assert argv == ["run", "--resume", str(folder)]


# ---------------------------------------------------------------- the terminal (item 11)


def test_terminal_summary_prints_no_control_character(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    report = hostile_report()
    terminal.print_summary(report, ["out/parity.md"])
    out = capsys.readouterr().out
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e\u2066]", out), repr(out)
    lines = out.splitlines()
    for case_id in HOSTILE_IDS[:20]:  # one line per unexpected result, whatever the id holds
        shown = text.visible(case_id)
        [line] = [ln for ln in lines if ln.startswith(f"MISMATCH {shown} ")]
        assert line.endswith("[bold]x[/]\\nsecond line")  # the whole message, markup shown as text
    assert "[bold red]rich markup[/]" in out


def test_terminal_error_prints_no_control_character(capsys):
    terminal.error("fixture \x1b]0;owned\x07 case\nnext [red]x[/]")
    err = capsys.readouterr().err
    assert err == "error: fixture \\x1b]0;owned\\x07 case\\nnext [red]x[/]\n"


def test_visible_names_every_invisible_character():
    assert text.visible("a\x1bb\nc\td\x00\u202e\U000e0001é") == "a\\x1bb\\nc\\td\\x00\\u202e\\U000e0001é"
    assert text.visible("plain [x] ids, é and 中") == "plain [x] ids, é and 中"


def test_visible_changes_exactly_the_characters_of_the_invisible_categories():
    """Every code point, one at a time: kept as itself exactly when its Unicode category prints
    (the categories are the database's, not the fast path's)."""
    invisible = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
    for code in range(0x110000):
        ch = chr(code)
        assert (text.visible(f"a{ch}b") == f"a{ch}b") == (unicodedata.category(ch) not in invisible), hex(code)


# ---------------------------------------------------------------- files named after ids


def test_array_files_stay_in_the_arrays_folder(tmp_path):
    for case_id in HOSTILE_IDS:
        path = arrays_path(tmp_path, case_id)
        assert path.parent == tmp_path / "arrays" and re.fullmatch(r"[0-9a-f]{20}\.npz", path.name)
        assert re.fullmatch(r"[0-9a-f]{24}\.npz", fixtures.file_name(case_id))


# ---------------------------------------------------------------- a fixture run, end to end (item 12)

FIXTURE_CASE = "roi_align[aligned=0,sr=2,out=1x1,s=1]-f32-mixed"
FIXTURE_ID = FIXTURE_CASE + "'; touch PWNED; ' $(touch PWNED) `touch PWNED` |<img src=x onerror=alert(1)>| ../../x"


def _cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "parity.shells.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_fixture_run_prints_a_repro_command_that_runs(tmp_path):
    """A fixture run with a hostile id: the repro line of parity.md, pasted, reruns exactly that case."""
    [case] = [c for c in generate.cases_for("standard", FIXTURE_CASE) if c.id == FIXTURE_CASE]
    folder = tmp_path / "fix tures"
    fixtures.save([case], folder, "standard")
    manifest = json.loads((folder / fixtures.MANIFEST).read_text())
    manifest["cases"][0]["id"] = FIXTURE_ID
    (folder / fixtures.MANIFEST).write_text(json.dumps(manifest))
    # MindSpore's worker runs a framework that is wrong on purpose, so that the run has a MISMATCH to repro.
    wrong = tmp_path / "wrong-mindspore"
    wrong.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m parity.engine.worker tests.wrong_framework\n")
    wrong.chmod(0o755)
    out = tmp_path / "out"
    first = tmp_path / "first"
    first.mkdir()
    r = _cli("run", "--fixtures", str(folder), "--out", str(out), "--python", f"mindspore={wrong}", cwd=first)
    assert r.returncode == 1, r.stdout + r.stderr
    tokens = _tokens((out / "parity.md").read_text())
    [line] = {b.content for a, b in zip(tokens, tokens[1:]) if a.type == "text" and a.content.endswith("repro: ")
              and b.type == "code_inline"}
    assert line == (
        f"parity run --fixtures {shlex.quote(str(folder))} --runners torchvision,mindspore -k {shlex.quote(FIXTURE_ID)}"
    )
    # Pasted into bash, with parity on the PATH: the real MindSpore agrees on this case.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "parity").write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m parity.shells.cli \"$@\"\n")
    (bin_dir / "parity").chmod(0o755)
    again = tmp_path / "again"
    again.mkdir()
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    pasted = subprocess.run(["bash", "-c", line], cwd=again, env=env, capture_output=True, text=True, timeout=600)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    doc = json.loads((again / "reports" / "parity.json").read_text())
    assert [c["id"] for c in doc["cases"]] == [FIXTURE_ID]
    assert doc["summary"]["mindspore vs reference"] == {"PASS": 1}
    # Nothing was written outside the output folders, and nothing the id holds ran.
    assert not list(tmp_path.rglob("PWNED"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "bin", "first", "fix tures", "out", "wrong-mindspore"]
    assert list(first.iterdir()) == [] and [p.name for p in again.iterdir()] == ["reports"]
    for written in out.rglob("*"):
        assert written.resolve().is_relative_to(out.resolve())


# ---------------------------------------------------------------- parity repro's bug-report bodies


@pytest.mark.parametrize("op", ["roi_align", "box_iou", "nms"])
def test_repro_reports_show_hostile_ids_and_messages_as_themselves(op):
    """``parity repro``'s Markdown for a case with a hostile id, whose script printed hostile text
    (a fence of its own, a closing ``</details>``) and whose stored run holds hostile messages and
    versions: no HTML but the report's own collapsible section, the id as one code span, every table
    row with its columns, and the script and its output each inside one code block."""
    import dataclasses
    import importlib

    from parity import ops
    from parity.engine import standalone

    module = importlib.import_module(f"parity.ops.{op}.repro")
    base = ops.get(op).cases("seed")[0]
    printed = MESSAGE + "\n```\n</details><script>alert(1)</script>\n~~~"
    for case_id in HOSTILE_IDS:
        case = dataclasses.replace(base, id=case_id)
        compared = Comparison(case_id, "mindspore", "reference <b>|x", Verdict.MISMATCH, TOL, METRICS, MESSAGE)
        stored = standalone.Stored({"torch": "2.<b>|x`"}, "x86_64 <i>Linux</i> | \x1b[5m", (compared,))
        ran = standalone.Ran({"versions": {"torch": "2.<b>|x`", "esc\x1b[1m": "1"}}, printed, "")
        script = module.script(case)
        tokens = _tokens(module.markdown(case, script, ran, stored))
        _assert_only_own_html(tokens)
        assert not [t for t in tokens if t.type in ("image", "link_open", "s_open", "em_open")], case_id
        heading = [t for t in tokens if t.type == "inline"][0]
        assert [c.content for c in heading.children if c.type == "code_inline"][-1] == text.visible(case_id)
        blocks = [t.content for t in tokens if t.type == "fence"]
        assert sum(b == script.rstrip("\n") + "\n" for b in blocks) == 1, case_id
        assert sum(b.startswith("RuntimeError: <img") and "</details><script>" in b and b.endswith("~~~\n") for b in blocks) == 1, case_id
        rows: list[int] = []
        for t in tokens:
            if t.type == "tr_open":
                rows.append(0)
            elif t.type in ("th_open", "td_open"):
                rows[-1] += 1
            elif t.type == "table_open" and rows:
                assert len(set(rows)) == 1, (case_id, rows)
                rows = []
        assert len(set(rows)) <= 1, (case_id, rows)


def test_a_fixtures_dtype_reaches_a_repro_script_as_data():
    """An .npz can hold big-endian or structured arrays: the script rebuilds the first exactly (its
    dtype a quoted string, not source text) and parity repro refuses the second in one line."""
    from parity.engine import standalone
    from parity.engine.errors import UsageError

    big = np.array([[1.5, -0.0, np.nan, np.inf]], dtype=">f4")
    back = eval(standalone.array_source(big), {"np": np, "nan": np.nan, "inf": np.inf})
    assert back.dtype == big.dtype and back.tobytes() == big.tobytes()
    fields = np.zeros(2, dtype=[("x'); import os; os.system('touch PWNED'); ('", "<f4")])
    with pytest.raises(UsageError, match="booleans, integers and floats only"):
        standalone.array_source(fields)

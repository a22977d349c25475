"""Data shown to people, made inert: one escaping function per output language.

Case ids, messages, runner names and versions come from fixtures, results folders and framework
error texts, that is from strangers.  Whatever the output (a terminal, Markdown, HTML, a shell
command line), such text must show as itself and never act: no ANSI sequence reaching the
terminal, no live HTML or broken table in a Markdown renderer, no extra shell command when a
copied repro line is pasted.  Every reporter escapes data through this module and nowhere else.
"""
from __future__ import annotations

import html as _html
import re
import shlex
import unicodedata

#: Unicode categories that do not print as themselves: controls (ESC, newline, DEL, C1), format
#: characters (bidi overrides, zero-width), line and paragraph separators, surrogates (bytes that
#: were not UTF-8), private use and unassigned code points.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Characters that start or end an inline construct in CommonMark / GitHub Flavored Markdown
#: (escapes, code, emphasis, strikethrough, links and images, raw HTML and autolinks, entities,
#: table cells, GitHub math).  A backslash before ASCII punctuation always renders it literally.
_MARKDOWN_SPECIAL = frozenset("\\`*_[]<>&|~$")
_MARKDOWN_ESCAPES = {ord(ch): "\\" + ch for ch in _MARKDOWN_SPECIAL}
_BACKTICKS = re.compile("`+")


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in _INVISIBLE


def _all_visible(text: str) -> bool:
    """No character of ``text`` is invisible.  ``str.isprintable`` answers in C for the common
    case: it is false for every "Other" and "Separator" category but the ASCII space, a superset of
    _INVISIBLE, so only text it rejects (a non-ASCII space, say) is looked at character by character."""
    return text.isprintable() or not any(_invisible(ch) for ch in text)


def visible(text: str) -> str:
    """``text`` with every character that does not print as itself written as a Python escape.

    ``"a\\x1b[31mb\\nc"`` becomes ``a\\x1b[31mb\\nc`` (backslash sequences, one line): an ESC
    sequence cannot restyle a terminal or set its title, a newline cannot split a log line or a
    Markdown table row, a bidi override cannot reorder what is shown.  Backslashes already in
    the text are kept as they are (readable ids over an unambiguous round trip; the shell form,
    shell_word, is the exact one).
    """
    if _all_visible(text):
        return text
    out = []
    for ch in text:
        if not _invisible(ch):
            out.append(ch)
        elif ch in _NAMED:
            out.append(_NAMED[ch])
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return "".join(out)


def terminal(text: object) -> str:
    """Data for the rich console: visible characters only, and no rich markup (``[bold]``).

    rich's escape doubles a trailing backslash (so that it cannot escape a tag right after it),
    which then prints twice; parity never puts a tag right after data, so it is kept single.
    """
    from rich.markup import escape

    return escape(visible(str(text)) + " ")[:-1]


def markdown(text: object) -> str:
    """Data as Markdown inline text or a table cell: shows literally in any CommonMark renderer.

    For inline positions (after other text on the line, or in a table cell); the output holds
    no newline, so it cannot start a block.
    """
    return visible(str(text)).translate(_MARKDOWN_ESCAPES)


def markdown_code(text: object, cell: bool = False) -> str:
    """Data as a Markdown code span, whatever backticks it holds.

    The fence is one backtick longer than the longest run inside, and padded with a space when
    the text starts or ends with a backtick or a space (CommonMark strips one space each side).
    Backslash escapes do not work in code spans, so in a table cell (``cell``) only ``|`` is
    escaped: GitHub and markdown-it remove the backslash of ``\\|`` before parsing the cell.
    """
    body = visible(str(text)) or " "
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    fence = "`" * (longest + 1)
    if body.strip(" ") and (body[0] in "` " or body[-1] in "` "):
        body = f" {body} "
    if cell:
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"


def html(text: object) -> str:
    """Data as HTML text or a quoted attribute value (also inside ``<details>`` / ``<summary>``)."""
    return _html.escape(visible(str(text)), quote=True)


def _utf8(ch: str) -> bytes:
    """A character's bytes: a surrogate from undecodable input gives back its byte (or its UTF-8)."""
    try:
        return ch.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return ch.encode("utf-8", "surrogatepass")


def shell_word(word: str) -> str:
    """One argument of a command a person will paste into a POSIX shell: it stays one word, as is.

    Printable text is single-quoted by ``shlex.quote``.  Text with invisible characters (a
    newline, ESC) would not survive a one-line display quoted that way, so it is written as
    ``$'...'`` (bash, zsh, ksh, POSIX.1-2024 sh) with those characters as ``\\xHH`` bytes of their
    UTF-8 encoding.
    """
    if _all_visible(word):
        return shlex.quote(word)
    out = []
    for ch in word:
        if ch in "\\'":
            out.append("\\" + ch)
        elif _invisible(ch):
            out.extend(f"\\x{b:02x}" for b in _utf8(ch))
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"

"""The one base class of every error a user can hit with bad data or bad params.

:class:`ReviewlabError` is subclassed by ``ParamsError`` (:mod:`reviewlab.core.params`),
``DataLoadError`` (:mod:`reviewlab.data.loaders`), ``LeakageError`` (:mod:`reviewlab.data.audit`)
and :class:`StageError` (a notebook stage that failed with one of them). The command line
catches this one type and prints its :func:`headline` as one line, with no traceback
(``reviewlab --debug`` shows it).
"""

from __future__ import annotations

import re

#: What a user can fix (data, params, leakage) as opposed to a bug: the names of the
#: exception classes a failed notebook reports (papermill's ``ename``) that the command line
#: turns into one clear line. ``KeyError`` is a missing key of params or of a record.
USER_ERRORS = frozenset(
    {"ReviewlabError", "DataLoadError", "ParamsError", "LeakageError", "StageError", "KeyError"}
)

_COUNT = re.compile(r"^(?P<source>.*): (?P<n>\d+) invalid value\(s\)$")


class ReviewlabError(Exception):
    """Bad input the user can fix: the message's first line says what and where."""


class StageError(ReviewlabError):
    """A notebook stage stopped on a :data:`USER_ERRORS` error; the executed notebook keeps
    the traceback (its path is the message's last line)."""


def headline(message: str) -> str:
    """The first line of ``message``, made to stand alone.

    A params report (``<file>: 2 invalid value(s)`` then one indented line per key) becomes
    ``<file>: <first key>: <what is wrong> (+1 more below)``: a first line that names the file,
    the key and what was expected.
    """
    lines = [line for line in message.strip().splitlines() if line.strip()] or ["(no message)"]
    match = _COUNT.match(lines[0])
    if match and len(lines) > 1:
        more = int(match["n"]) - 1
        tail = f" (+{more} more below)" if more > 0 else ""
        return f"{match['source']}: {lines[1].strip()}{tail}"
    return lines[0]

"""The one base class of every error a user can hit with bad data or bad params.

:class:`ReviewlabError` is subclassed by ``ParamsError`` (:mod:`reviewlab.core.params`),
``DataLoadError`` (:mod:`reviewlab.data.loaders`), ``LeakageError`` (:mod:`reviewlab.data.leakage`)
and :class:`StageError` (a notebook stage that failed with one of them). A data or params
error carries its problems (:class:`Problem`: file, line, field, what, expected, fix) and is
formatted once, here: the first problem is the message's first line, the others follow
indented. The command line prints that first line with no traceback (``--debug`` shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: What a user can fix (data, params, leakage) as opposed to a bug: the names of the
#: exception classes a failed notebook reports (papermill's ``ename``) that the command line
#: turns into one clear line. ``KeyError`` is a missing key of params or of a record.
USER_ERRORS = frozenset(
    {"ReviewlabError", "DataLoadError", "ParamsError", "LeakageError", "StageError", "KeyError"}
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is, what is wrong, what was expected, the fix."""

    what: str
    file: str | Path | None = None
    line: int | None = None  # 1-based
    field: str | None = None  # a dotted params key, or a record's field or column
    expected: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else self.file
        what = f"{self.what} (expected {self.expected})" if self.expected else self.what
        return ": ".join(str(part) for part in (where, self.field, what, self.fix) if part)


class ReviewlabError(Exception):
    """Bad input the user can fix: raised with problems (or, for a one-off, a message whose
    first line says what and where)."""

    def __init__(self, *problems: Problem | str) -> None:
        self.problems = tuple(p if isinstance(p, Problem) else Problem(p) for p in problems)
        first, *rest = [str(p) for p in self.problems] or ["(no message)"]
        more = f" (+{len(rest)} more below)" if rest else ""
        super().__init__("\n".join([first + more, *(f"  {line}" for line in rest)]))


class StageError(ReviewlabError):
    """A notebook stage stopped on a :data:`USER_ERRORS` error; the executed notebook keeps
    the traceback (its path is the message's last line)."""

"""What every report page shares: generated findings (summary + conclusion) and the HTML shell.

A stage report opens with a few sentences built from its numbers (:class:`Findings`) and ends
with a conclusion that answers the question in its heading. Pages are self-contained: one
small stylesheet, no scripts or fonts from anywhere else.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from IPython.display import Markdown

#: The one stylesheet of every report page (the index and each stage report).
CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
  max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.8em; margin: .4em 0; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
a { color: #0b5cad; } code { background: #f3f4f6; padding: 0 .25em; border-radius: 3px; }
table { border-collapse: collapse; font-size: 13px; margin: .6em 0; }
th, td { padding: 3px 9px; border-bottom: 1px solid #e3e3e3; text-align: right; }
th { background: #f6f8fa; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; } .output_subarea { overflow-x: auto; }
.table-scroll { max-width: 100%; overflow-x: auto; } table.frame td { vertical-align: top; }
table.frame td.ci { white-space: nowrap !important; } .table-note { font-size: .85em; color: #555; }
table.frame caption { text-align: left; font-weight: 600; padding: .2em 0; }
pre { white-space: pre-wrap; background: #f6f8fa; padding: .5em; border-radius: 4px; }
nav.back { font-size: .9em; } nav.toc { background: #f6f8fa; padding: .4em 1em; }
nav.toc ol { margin: .2em 0; } .summary li { margin: .2em 0; }
footer { margin-top: 3em; font-size: .85em; color: #555; border-top: 1px solid #ddd; }
.flag { color: #a40e26; font-weight: 600; }
"""


@dataclass(frozen=True)
class Findings:
    """A report's generated text: 3-5 summary sentences and one concluding paragraph."""

    summary: list[str]
    conclusion: str
    notes: list[str] = field(default_factory=list)  # caveats shown under the conclusion
    limitations: list[str] = field(default_factory=list)  # the Limitations block's bullets

    def summary_markdown(self) -> Markdown:
        return Markdown("\n".join(f"- {line}" for line in self.summary))

    def limitations_markdown(self) -> Markdown:
        """The Limitations block: one bullet per limitation the numbers show."""
        return Markdown("\n".join(f"- {line}" for line in self.limitations))

    def conclusion_markdown(self) -> Markdown:
        caveats = "".join(f"\n- {note}" for note in self.notes)
        return Markdown(self.conclusion + ("\n" + caveats if caveats else ""))


def document(title: str, body: str, back: str | None = None) -> str:
    """A complete HTML page: ``title``, the shared stylesheet, an optional link back to the
    index (``back``: its relative path) and ``body``."""
    nav = (
        f'<nav class="back"><a href="{html.escape(back)}">&larr; All reports</a></nav>'
        if back
        else ""
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body>{nav}\n{body}\n</body></html>\n"
    )

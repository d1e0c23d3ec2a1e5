"""The reports as a reader sees them (issue #15): each page of the tiny repro opened in a real
headless browser (Debian's chromium, driven by selenium + chromedriver) loads cleanly, offline,
with every image decoded and every index link resolving, and shows results only: no code, no
traceback, no warning, no absolute path. Issue #24: every link of every page resolves in a
fresh clone (no link into a git-ignored path such as artifacts/), and the dependency hashes a
page's footer shows equal its stage's entry in dvc.lock. At 1024 px no element is
wider than the window, every image has alt text of its own, and no table shows "nan" or
integers as floats.

The check functions are tested first (not slow) on hand-made pages that keep or break a rule.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

from tests.test_pipeline_e2e import tiny_repo  # noqa: F401  (the session fixture)

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = (  # as root, with no network
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-sync "
    "--disable-background-networking --disable-component-update --disable-default-apps "
    "--window-size=1024,768 --hide-scrollbars"
)
INPUTS = (".jp-InputArea", ".input_area", "div.input", ".jp-CodeMirrorEditor", ".highlight-ipynb")
ERRORS = (".ansi-red-fg", ".output_error")
STDERR = ('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]', ".output_stderr")
CODE = re.compile(r"\s*(from [\w.]+ import |import [\w.]+|\w+ = [\w.]+\(|def \w+\(|class \w+)")
TRACEBACK = "Traceback (most recent call last)"
WARNING = re.compile(r"\b\w*Warning:")
ABSOLUTE = re.compile(r"(?<![\w.~-])/(?:work|home|tmp|root|usr|opt|private|Users)/|\b[A-Z]:\\")
DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")
LOCAL, SENT = ("file:", "data:"), "Network.requestWillBeSent"
DEFAULT_ALT = "No description has been provided for this image"  # what nbconvert writes
MISSING = re.compile(r"nan|NaN|NaT|<NA>|None")  # a missing value printed as pandas does
FLOAT_INTEGER = re.compile(r"-?\d[\d,]*\.0+")  # 8202.00: an integer printed as a float
PLOTS = "plots"  # reports/plots/: DVC's own plots page (`make plots`), not a stage report
SNAPSHOT = """
const [selectors, done] = arguments;
const images = [...document.images];
const width = document.documentElement.clientWidth;
const scrolls = e => e !== document.body && getComputedStyle(e).overflowX !== 'visible';
const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement) {
  if (scrolls(a)) return true; } return false; };
const outside = e => { const r = e.getBoundingClientRect();
  return r.width > 0 && (r.right > width + 1 || r.left < -1) && !clipped(e); };
const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
  + (e.classList.length ? '.' + [...e.classList].join('.') : '')
  + ` (${Math.round(e.getBoundingClientRect().width)} px)`;
Promise.all(images.map(i => i.decode().catch(() => null))).then(() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('script, style, template').forEach(e => e.remove());
  done({
    images: images.map(i => ({src: (i.getAttribute('src') || '').slice(0, 80),
                              complete: i.complete, width: i.naturalWidth,
                              alt: i.getAttribute('alt')})),
    width: width,
    wide: [...document.body.querySelectorAll('*')]
      .filter(e => outside(e) && !(e.parentElement && outside(e.parentElement))).map(name),
    tables: [...document.querySelectorAll('table')].map(t => [...t.rows].map(
      r => [...r.cells].filter(c => c.tagName === 'TD').map(c => c.textContent.trim()))),
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    pres: [...document.querySelectorAll('pre')].map(p => p.textContent),
    found: selectors.filter(s => document.querySelector(s)),
    text: body.textContent,
  });
});
"""


@dataclass(frozen=True)
class Page:
    """What the browser saw of one page: ``name`` is its path below the site's folder."""

    name: str
    path: Path
    errors: list[str]  # console messages of level SEVERE
    requests: list[str]  # every URL the page asked for
    images: list[dict]
    links: list[str]
    pres: list[str]
    found: list[str]  # the selectors of INPUTS, ERRORS and STDERR that match an element
    text: str  # the body's text, without scripts and styles
    html: str
    width: int  # of the window's content, in CSS px
    wide: list[str]  # the outermost elements reaching past the window and not in a scroll box
    tables: list[list[list[str]]]  # each table's rows, each row's <td> texts (index cells: <th>)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless chromium for the module, offline, logging the console and the network."""
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip("no chromium + chromedriver: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS.split(), f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(str(CHROMEDRIVER)))
    driver.get("about:blank")  # leave the new-tab page, whose loading the log would show
    yield driver
    driver.quit()


def open_page(driver, path: Path, site: Path) -> Page:
    """Load ``path`` by its file:// URL and take what the checks need."""
    for log in ("browser", "performance"):  # drop the previous page's entries
        driver.get_log(log)
    driver.get(path.as_uri())
    seen = driver.execute_async_script(SNAPSHOT, [*INPUTS, *ERRORS, *STDERR])
    events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    return Page(
        name=path.relative_to(site).as_posix(),
        path=path,
        errors=[e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"],
        requests=[e["params"]["request"]["url"] for e in events if e["method"] == SENT],
        html=driver.page_source,
        **seen,
    )


def console_errors(page: Page) -> list[str]:
    return [f"{page.name}: console error: {message}" for message in page.errors]


def remote_requests(page: Page) -> list[str]:
    return [
        f"{page.name}: request leaves the machine: {url}"
        for url in page.requests
        if not url.startswith(LOCAL) and url != "about:blank"
    ]


def broken_images(page: Page) -> list[str]:
    return [
        f"{page.name}: image not decoded: {image['src']}"
        for image in page.images
        if not (image["complete"] and image["width"] > 0)
    ]


def input_cells(page: Page) -> list[str]:
    code = [f"<pre>{text.strip()[:60]!r}" for text in page.pres if CODE.match(text)]
    found = [s for s in page.found if s in INPUTS] + code
    return [f"{page.name}: input cell shown: {what}" for what in found]


def tracebacks(page: Page) -> list[str]:
    found = [s for s in page.found if s in ERRORS]
    found += [TRACEBACK] * (TRACEBACK in page.text)
    return [f"{page.name}: traceback shown: {what}" for what in found]


def warnings_shown(page: Page) -> list[str]:
    found = [s for s in page.found if s in STDERR] + WARNING.findall(page.text)
    return [f"{page.name}: warning shown: {what}" for what in found]


def absolute_paths(page: Page, also: tuple[str, ...] = ()) -> list[str]:
    html = DATA_URI.sub("data:", page.html)
    starts = [m.start() for m in ABSOLUTE.finditer(html)]
    starts += [m.start() for path in also for m in re.finditer(re.escape(path), html)]
    return [f"{page.name}: absolute path: {html[i : i + 60]!r}" for i in sorted(starts)]


def too_wide(page: Page) -> list[str]:
    return [f"{page.name}: wider than the {page.width} px window: {what}" for what in page.wide]


def image_alt(page: Page) -> list[str]:
    return [
        f"{page.name}: image without alt text of its own: {image['src'][:40]} alt={image['alt']!r}"
        for image in page.images
        if not (image["alt"] or "").strip() or image["alt"] == DEFAULT_ALT
    ]


def nan_cells(page: Page) -> list[str]:
    return [
        f"{page.name}: table {number} shows a missing value as {cell!r}"
        for number, rows in enumerate(page.tables, 1)
        for cell in dict.fromkeys(cell for row in rows for cell in row if MISSING.fullmatch(cell))
    ]


def float_integers(page: Page) -> list[str]:
    """A table column of two or more cells, all whole numbers printed with decimals."""
    problems = []
    for number, rows in enumerate(page.tables, 1):
        for column in zip(*[row for row in rows if len(row) == max(map(len, rows))], strict=True):
            if len(column) > 1 and all(FLOAT_INTEGER.fullmatch(cell) for cell in column):
                problems.append(f"{page.name}: table {number} prints integers as {column[0]!r}")
    return problems


def ids(path: Path) -> set[str]:
    """The element ids of an HTML file."""
    return {tag["id"] for tag in BeautifulSoup(path.read_text(), "html.parser").find_all(id=True)}


def broken_links(page: Page) -> list[str]:
    """Every link is relative and lands on a file (and, with a #fragment, on an element)."""
    problems = []
    for href in page.links:
        url = urlsplit(href)
        target = (page.path.parent / unquote(url.path)).resolve() if url.path else page.path
        if url.scheme or url.netloc:
            problems.append(f"{page.name}: link not relative: {href}")
        elif not target.is_file():
            problems.append(f"{page.name}: link to a missing file: {href}")
        elif url.fragment and url.fragment not in ids(target):
            problems.append(f"{page.name}: link to a missing #id: {href}")
    return problems


def repository(path: Path) -> Path:
    """The git checkout holding ``path`` (its nearest folder with a ``.git``)."""
    return next(folder for folder in path.parents if (folder / ".git").exists())


def links_outside_a_clone(page: Page) -> list[str]:
    """Every link resolves in a fresh clone: it lands on a file (:func:`broken_links`) that git
    does not ignore (``artifacts/``, ``data/`` hold DVC outputs a clone lacks)."""
    repo, problems = repository(page.path), broken_links(page)
    for href in page.links:
        url = urlsplit(href)
        if url.scheme or url.netloc or not url.path:
            continue
        target = (page.path.parent / unquote(url.path)).resolve()
        ignored = subprocess.run(["git", "check-ignore", "-q", str(target)], cwd=repo).returncode
        if ignored == 0:
            problems.append(f"{page.name}: link to a git-ignored path a clone lacks: {href}")
    return problems


def lock_mismatches(page: Page) -> list[str]:
    """The page shows its stage's dependency hashes, equal to that stage's dvc.lock entry."""
    tables = BeautifulSoup(page.html, "html.parser").select("table.dvc-lock")
    if not tables:
        return [f"{page.name}: no dvc.lock provenance shown"]
    problems = []
    for table in tables:
        stage, lockfile = table["data-stage"], repository(page.path) / table["data-lockfile"]
        entry = yaml.safe_load(lockfile.read_text())["stages"].get(stage, {})
        locked = {d["path"]: d["md5"] for d in entry.get("deps", [])}
        shown = {
            row.find_all("td")[0].get_text(): row.find_all("td")[1].get_text()
            for row in table.find_all("tr")
            if row.find("td")
        }
        if shown != locked:
            differ = sorted(
                k for k in shown.keys() | locked.keys() if shown.get(k) != locked.get(k)
            )
            problems.append(f"{page.name}: {stage} shown differs from {lockfile.name}: {differ}")
    return problems


PAGE_CHECKS = (console_errors, remote_requests, broken_images, input_cells, tracebacks)
PAGE_CHECKS += (warnings_shown, links_outside_a_clone, lock_mismatches)
PAGE_CHECKS += (too_wide, image_alt, nan_cells, float_integers)
CHECKS = (*PAGE_CHECKS, absolute_paths, broken_links)
LOCK = """schema: '2.0'
stages:
  fine:
    cmd: make fine
    deps:
    - path: src/fine.py
      hash: md5
      md5: 0cc175b9c0f1b6a831c399e269772661
"""
PROVENANCE = """<table class="dvc-lock" data-stage="fine" data-lockfile="dvc.lock">
<tr><th>dependency</th><th>md5</th></tr>
<tr><td><code>src/fine.py</code></td><td><code>{md5}</code></td></tr></table>"""
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAC"
    "hwGA60e6kgAAAABJRU5ErkJggg=="
)
GOOD = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fine</title>
<style>pre {{ color: #333; }}</style></head><body><nav><a href="#top">top</a></nav>
<h1 id="top">Fine</h1><p>RMSE 0.91 (95% CI 0.88 to 0.94).</p><img alt="dot" src="{PNG}">
<pre>rows 300</pre><a href="other.html#end">end</a><a href="other.html">other</a>
<table><tr><th>model</th><th>rows</th><th>rmse</th></tr><tr><th>a</th><td>8,202</td><td>1.000</td>
</tr><tr><th>b</th><td>-</td><td>0.900</td></tr><tr><th>c</th><td>3</td><td>2.000</td></tr></table>
<div style="overflow-x: auto"><table style="width: 1500px"><tr><td>wide</td></tr></table></div>
{PROVENANCE.format(md5="0cc175b9c0f1b6a831c399e269772661")}</body></html>"""
BAD = {  # one page per rule: what breaks it, and the check that must name it
    "console": ("<script>console.error('boom')</script>", console_errors, "boom"),
    "network": ('<img src="http://localhost:9/x.png">', remote_requests, "localhost:9"),
    "image": ('<img src="data:image/png;base64,AAAA">', broken_images, "data:image/png"),
    "input": ('<div class="jp-InputArea">x = 1</div>', input_cells, ".jp-InputArea"),
    "code": ("<pre>from reviewlab.stages import eda</pre>", input_cells, "from reviewlab"),
    "traceback": ("<pre>Traceback (most recent call last):</pre>", tracebacks, "Traceback"),
    "red": ('<span class="ansi-red-fg">ValueError</span>', tracebacks, "ansi-red-fg"),
    "stderr": ('<div class="output_stderr">!</div>', warnings_shown, "output_stderr"),
    "warning": ("<p>FutureWarning: soon</p>", warnings_shown, "FutureWarning:"),
    "path": ("<p>/work/main/data/x.csv</p>", absolute_paths, "/work/main"),
    "windows": ("<p>C:\\Users\\me</p>", absolute_paths, "C:"),
    "missing": ('<a href="gone.html">x</a>', broken_links, "gone.html"),
    "fragment": ('<a href="other.html#nowhere">x</a>', broken_links, "#nowhere"),
    "remote": ('<a href="https://example.org/">x</a>', broken_links, "https://example.org/"),
    "ignored": (
        '<a href="artifacts/run.ipynb">x</a>',
        links_outside_a_clone,
        "artifacts/run.ipynb",
    ),
    "lock": (PROVENANCE.format(md5="92eb5ffee6ae2fec3ad71c777531578f"), lock_mismatches, "fine"),
    "wide": ('<div class="box"><p style="width: 1100px">x</p></div>', too_wide, "p (1100 px)"),
    "alt": (f'<img src="{PNG}" alt="{DEFAULT_ALT}">', image_alt, DEFAULT_ALT),
    "no-alt": (f'<img src="{PNG}">', image_alt, "alt=None"),
    "nan": ("<table><tr><td>1</td><td>nan</td></tr></table>", nan_cells, "'nan'"),
    "float": (
        "<table><tr><td>8202.00</td></tr><tr><td>3.0</td></tr></table>",
        float_integers,
        "8202.00",
    ),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A good page, the page it links to, and one page breaking each rule."""
    folder = tmp_path_factory.mktemp("site")
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (folder / ".gitignore").write_text("/artifacts\n")
    (folder / "artifacts").mkdir()
    (folder / "artifacts" / "run.ipynb").write_text("{}")  # here, but not in a clone
    (folder / "dvc.lock").write_text(LOCK)
    (folder / "good.html").write_text(GOOD)
    (folder / "other.html").write_text('<p id="end">end</p>')
    for name, (snippet, _, _) in BAD.items():
        (folder / f"{name}.html").write_text(GOOD.replace("</body>", f"{snippet}</body>"))
    return folder


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_a_good_page_passes(browser, site, check):
    assert check(open_page(browser, site / "good.html", site)) == []


@pytest.mark.parametrize("name", BAD)
def test_each_check_names_the_page_and_what_breaks_it(browser, site, name):
    check, offending = BAD[name][1:]
    problems = check(open_page(browser, site / f"{name}.html", site))
    assert problems and all(p.startswith(f"{name}.html: ") for p in problems), problems
    assert any(offending in p for p in problems), problems


def test_a_page_without_provenance_is_named(browser, site):
    assert lock_mismatches(open_page(browser, site / "other.html", site)) == [
        "other.html: no dvc.lock provenance shown"
    ]


@pytest.fixture(scope="module")
def pages(browser, tiny_repo) -> list[Page]:  # noqa: F811
    """The index and every stage report of the tiny repro (not DVC's plots page)."""
    site = tiny_repo / "reports"
    files = [p for p in sorted(site.glob("**/*.html")) if p.relative_to(site).parts[0] != PLOTS]
    assert site / "index.html" in files and len(files) > 20
    return [open_page(browser, path, site) for path in files]


@pytest.mark.slow
@pytest.mark.parametrize("check", PAGE_CHECKS, ids=lambda c: c.__name__)
def test_every_report_page(pages, check):
    problems = [problem for page in pages for problem in check(page)]
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_no_report_shows_an_absolute_path(pages, tiny_repo):  # noqa: F811
    also = (str(tiny_repo), str(tiny_repo.resolve()))
    problems = [problem for page in pages for problem in absolute_paths(page, also)]
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_every_index_link_resolves(pages):
    (index,) = [page for page in pages if page.name == "index.html"]
    problems = broken_links(index)
    assert len(index.links) > 20 and not problems, "\n".join(problems)

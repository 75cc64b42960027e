"""The built website in a real browser: Debian's headless Chromium, driven by Playwright (``make test-site``).

Every page of the built site (``_site/html``, or ``HQC_SITE_DIR``) is opened from a local HTTP
server, and on each one the test checks: its title; no console error and no page error; no
request that failed or left this machine (the pages must work offline); every image loaded
(``naturalWidth > 0``); every formula typeset by MathJax, with no raw ``$$``, ``$…$``, ``\\(`` or
``\\[`` left in the text; every internal link resolving to a file of the site, and each
``#fragment`` to an element of its page. On every chapter page also: the launch buttons and
the repository link are the ones built from the repository setting (``tools/repository.py``),
the ``.ipynb`` download is the committed notebook, the figures and tables of its outputs are
there, it has its Exercises, and each solution block (``<details>``) is closed and opens on a
click. A screenshot of every page (its first screen) is saved to a temporary folder; a failing page also gets
one of the whole page, and the failure names both.

Runs in ``.venv-site`` (``pytest -c book/pytest.ini book/test_site.py``), not in the course's ``.venv``.
"""

from __future__ import annotations

import functools
import html.parser
import json
import os
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hqc_course.course import HEADER_TAG, course_map  # noqa: E402
from tools.repository import repository  # noqa: E402

SITE = Path(os.environ.get("HQC_SITE_DIR", ROOT / "_site" / "html")).resolve()
CHROMIUM = os.environ.get("HQC_CHROMIUM", "/usr/bin/chromium")
# as root Chromium needs --no-sandbox; the rest keep it from calling Google's hosts
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]
SHOW = 30  # problems listed per page
SKIP_FOLDERS = {"_static", "_sources", "_downloads", "_images"}
CHAPTERS = {f"notebooks/{c.path.stem}.html": c for c in course_map(ROOT / "notebooks")}
REPO = repository(ROOT / "pyproject.toml")
PROJECT = ROOT.joinpath("README.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ").split(" — ")[0]


def site_pages() -> list[str]:
    if not (SITE / "README.html").is_file():
        return []
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if not SKIP_FOLDERS & set(p.relative_to(SITE).parts))


PAGES = site_pages()


def test_the_site_was_built_with_every_chapter():
    assert PAGES, f"no built site in {SITE}: run `make site` first"
    missing = sorted(set(CHAPTERS) - set(PAGES))
    assert not missing, f"chapters without a page in {SITE}: {missing}"
    assert {"index.html", "README.html", "search.html"} <= set(PAGES)


# ------------------------------------------------------------------ what the notebooks promise
def expected(chapter) -> dict:
    """Counts read from the committed notebook: what its page must show."""
    nb = json.loads(chapter.path.read_text(encoding="utf-8"))
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"]
                         if c["cell_type"] == "markdown" and HEADER_TAG not in c.get("metadata", {}).get("tags", []))
    outputs = [o.get("data", {}) for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    return {"details": markdown.count("<details"),
            "figures": sum("image/png" in d for d in outputs),
            "tables": sum("<table" in "".join(d.get("text/html", "")) for d in outputs),
            "math": "$" in markdown}


# ------------------------------------------------------------------ server and browser
class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        pass


@pytest.fixture(scope="session")
def server():
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def shots():
    folder = Path(tempfile.mkdtemp(prefix="hqc-site-screenshots-"))
    yield folder
    print(f"\nscreenshots of every page: {folder}")


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium), "
                    "or set HQC_CHROMIUM", pytrace=False)
    with sync_playwright() as p:
        # a fresh profile folder (--user-data-dir) for every run
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


# ------------------------------------------------------------------ helpers
class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        self.ids.update(value for name, value in attrs if name in ("id", "name") and value)


@functools.cache
def ids_of(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def site_file(url: str, base: str) -> Path | None:
    """The file of the site that a same-origin URL names (None if it is outside the site)."""
    path = unquote(urlsplit(url).path)[len(urlsplit(base).path):]
    target = (SITE / path).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_relative_to(SITE) else None


# done: no formula on the page, MathJax finished, or MathJax.js never loaded (reported by the checks)
WAIT_FOR_MATH = """() => !document.querySelector('span.math, div.math')
                      || document.documentElement.getAttribute('data-mathjax') === 'done'
                      || !(window.MathJax && window.MathJax.Hub)"""

LOAD_IMAGES = """async () => {
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null :
    new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  return images.filter(img => img.naturalWidth === 0).map(img => img.getAttribute('src'));
}"""

# text outside code that still looks like TeX (MathJax or MyST missed it), hidden text included: the solutions
# are closed while this runs
RAW_MATH = """() => {
  const raw = /\\$\\$|\\\\\\(|\\\\\\)|\\\\\\[|\\\\\\]|\\\\begin\\{|\\$[^$\\s][^$\\n]*\\$/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('pre, code, script, style, textarea, .highlight, .MathJax_Preview')) continue;
    const m = node.textContent.match(raw);
    if (m) found.push('raw TeX left in the text: ' + node.textContent.trim().slice(0, 120));
  }
  const untypeset = Array.from(document.querySelectorAll('span.math, div.math'))
    .filter(el => !el.querySelector('.MathJax_CHTML, .mjx-chtml, .MathJax, .MathJax_Display'))
    .map(el => 'formula not typeset by MathJax: ' + el.textContent.trim().slice(0, 120));
  const errors = Array.from(document.querySelectorAll('.mjx-merror, .merror, .MathJax_Error'))
    .map(el => 'MathJax shows an error: ' + el.textContent.trim().slice(0, 120));
  return found.concat(untypeset, errors);
}"""


# ------------------------------------------------------------------ the test of one page
@pytest.mark.parametrize("name", PAGES)
def test_page(name, server, browser_context, shots):
    page = browser_context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    # (a request to another host is reported by offline_only below, which blocks it)
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})")
            if r.url.startswith(server) else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def offline_only(route):
        if route.request.url.startswith(server) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            problems.append(f"the page asked the network for {route.request.url}")
            route.abort()

    page.route("**/*", offline_only)
    screenshot = shots / (name.replace("/", "__") + ".png")
    try:
        page.goto(server + name, wait_until="load")
        if name == "index.html":  # the redirect to the landing page
            page.wait_for_url("**/README.html", timeout=10_000)
            page.wait_for_load_state("load")
        try:
            page.wait_for_function(WAIT_FOR_MATH, timeout=30_000)
        except Exception:
            problems.append("MathJax did not finish typesetting within 30 s")
        check_page(page, name, server, problems)
    finally:
        # the first screen of every page; the whole page too when something is wrong (a tall page takes
        # seconds to capture: chapter 07 is about 45,000 pixels high)
        shots_taken = [screenshot]
        try:
            page.screenshot(path=str(screenshot))
            if problems:
                shots_taken.append(screenshot.with_suffix(".full.png"))
                page.screenshot(path=str(shots_taken[-1]), full_page=True)
        except Exception as error:
            problems.append(f"screenshot failed: {error}")
        page.close()
    shown = problems[:SHOW]
    more = [f"... and {len(problems) - SHOW} more"] if len(problems) > SHOW else []
    assert not problems, (f"{name}: {len(problems)} problem(s); screenshots: {', '.join(map(str, shots_taken))}\n  "
                          + "\n  ".join(shown + more))


def check_page(page, name: str, server: str, problems: list[str]) -> None:
    title = page.title()
    if not title.strip() or "<no title>" in title or not title.endswith(PROJECT):
        problems.append(f"title {title!r} is empty or does not end with the course's name {PROJECT!r}")

    for src in page.evaluate(LOAD_IMAGES):
        problems.append(f"image did not load: {src}")

    problems.extend(page.evaluate(RAW_MATH))

    here = page.url
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    for href in sorted(set(hrefs)):
        if href.startswith(("javascript:", "mailto:")):
            continue
        url, fragment = urldefrag(urljoin(here, href))
        if not url.startswith(server):
            continue  # an external link: not followed offline
        target = site_file(url, server)
        if target is None or not target.is_file():
            problems.append(f"broken internal link: {href}")
        elif fragment and target.suffix == ".html" and unquote(fragment) not in ids_of(target):
            problems.append(f"internal link to a missing anchor: {href}")

    chapter = CHAPTERS.get(name)
    if chapter is not None:
        check_chapter(page, chapter, problems)


def check_chapter(page, chapter, problems: list[str]) -> None:
    want = expected(chapter)
    if chapter.title not in page.title():
        problems.append(f"title {page.title()!r} does not name the chapter {chapter.title!r}")

    # launch buttons and the repository link, from the one repository setting
    path = f"notebooks/{chapter.path.name}"
    links = set(page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"))
    for what, url in (("Colab", REPO.colab(path)), ("Binder", REPO.binder(path)), ("repository", REPO.url)):
        if url not in links:
            problems.append(f"no {what} link {url} (from [tool.hqc-course] in pyproject.toml)")

    # the .ipynb download is the committed notebook
    downloads = page.eval_on_selector_all("a[href$='.ipynb']", "links => links.map(a => a.href)")
    notebook = [u for u in downloads if u.endswith("/_sources/" + path)]
    if not notebook:
        problems.append(f"no download link for {path} (found {downloads})")
    elif (SITE / "_sources" / path).read_bytes() != chapter.path.read_bytes():
        problems.append(f"the downloadable _sources/{path} is not the committed notebook")

    article = page.locator("article")
    figures = article.locator("img[src*='_images/']").count()
    if figures < want["figures"]:
        problems.append(f"{figures} figures on the page, the notebook has {want['figures']} PNG outputs")
    tables = article.locator(".cell_output table").count()
    if tables < want["tables"]:
        problems.append(f"{tables} tables in the page's outputs, the notebook's outputs have {want['tables']}")
    if want["math"] and not article.locator(".MathJax_CHTML, .mjx-chtml").count():
        problems.append("the notebook has math, the page shows no typeset formula")
    if not page.locator("section#exercises").count():
        problems.append("no Exercises section")

    # the solutions: closed, and open on a click
    details = article.locator("details")
    if details.count() != want["details"]:
        problems.append(f"{details.count()} solution blocks on the page, the notebook has {want['details']}")
    for i in range(details.count()):
        block = details.nth(i)
        body = block.locator(":scope > :not(summary)").first
        summary = block.locator(":scope > summary")
        if block.evaluate("d => d.open") or (body.count() and body.is_visible()):
            problems.append(f"solution block {i + 1} is open before a click")
            continue
        summary.click()
        if not block.evaluate("d => d.open") or (body.count() and not body.is_visible()):
            problems.append(f"solution block {i + 1} ({summary.inner_text()!r}) did not open on a click")


def test_search_finds_the_chapters(server, browser_context):
    """The site's own search (Sphinx's index, in the page's JavaScript) works offline."""
    page = browser_context.new_page()
    try:
        page.goto(server + "search.html?q=quanvolution", wait_until="load")
        results = page.locator("#search-results li a")
        results.first.wait_for(timeout=30_000)
        found = {href.split("#")[0].split("?")[0] for href in results.evaluate_all("links => links.map(a => a.getAttribute('href'))")}
    finally:
        page.close()
    assert "notebooks/10_quanvolution.html" in found, f"searching 'quanvolution' found {sorted(found)}"

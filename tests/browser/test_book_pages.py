"""The built book, read in a real browser (headless Chromium at 1400 px and 800 px): every page must read cleanly.

Run after the book is built, with the built site named by ``EES_BOOK_HTML`` (``.ci/book`` does:
``EES_BOOK_HTML=book/_build/html pytest tests/browser``). Without it the module is skipped, with
the reason shown; with it, a missing browser or driver is a failure, not a skip.

Per page: math typeset by MathJax (no raw ``\\(``/``$`` left, no MathJax error, no literal
backslash); no quantity written as plain-text math in a table (``p_max``, ``Hbar``, ``>=``,
``k*``: the pattern ``ees_theory.report.typeset.ASCII_MATH``, outside code and formulas); no output
cell, table, display equation or code cell wider than the text column, and no code cell that
scrolls sideways; every image loaded, inside a numbered figure with a caption and alt text; no
build-machine path in the text; at most one search field; every relative link points at a built
file. Once: the search page finds "counterexample".
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from ees_theory.report.typeset import ASCII_MATH

HTML = os.environ.get("EES_BOOK_HTML")
if not HTML:
    pytest.skip("EES_BOOK_HTML is not set: build the book and set it (the .ci/book step does) to check the pages in Chromium",
                allow_module_level=True)

ROOT = Path(HTML).resolve()
CHROMIUM = os.environ.get("EES_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("EES_CHROMEDRIVER", "/usr/bin/chromedriver")
WIDTH, HEIGHT = 1400, 1000
#: The window widths every page is read at (a desktop screen and a narrow window or tablet);
#: ``EES_BOOK_WIDTHS=1400`` reads at one width only.
WIDTHS = [int(w) for w in os.environ.get("EES_BOOK_WIDTHS", "1400,800").split(",")]
#: Where to keep a full-page screenshot of every page at every width (CI keeps them as artifacts).
SHOTS = os.environ.get("EES_BOOK_SCREENSHOTS")
#: Pages Sphinx generates around the content; they are checked by the search test or not at all.
SKIP = {"genindex.html", "search.html", "py-modindex.html"}

PAGES = sorted(
    p.relative_to(ROOT).as_posix()
    for p in ROOT.rglob("*.html")
    if not {"_static", "_sources", "_modules", "reports", "_images"} & set(p.relative_to(ROOT).parts) and p.name not in SKIP
    # the root index.html only redirects to the landing page
    and 'http-equiv="Refresh"' not in p.read_text(encoding="utf-8", errors="replace")[:2000]
)


@pytest.fixture(scope="module")
def site():
    if not (ROOT / "index.html").exists():
        pytest.fail(f"no built book at {ROOT} (index.html missing)")
    handler = functools.partial(_QuietHandler, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reports what matters
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is needed (the docs extra)")
    from selenium.webdriver.chrome.service import Service

    for exe in (CHROMIUM, CHROMEDRIVER):
        if not Path(exe).exists():
            pytest.fail(f"{exe} not found: install the Debian packages chromium and chromium-driver (.ci/book does)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", f"--window-size={WIDTH},{HEIGHT}",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_window_size(WIDTH, HEIGHT)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


# Runs in the page once MathJax is done; returns a list of problems (strings), empty when clean.
_CHECK_PAGE = r"""
const done = arguments[arguments.length - 1];
const asciiMath = new RegExp(arguments[0]);
// MathJax loads asynchronously: wait (up to 20 s) until it exists, then until it has typeset the page
const mathjax = new Promise((resolve) => {
  const t0 = Date.now();
  (function poll() {
    if (!document.querySelector(".math")) return resolve();
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) return MathJax.startup.promise.then(resolve, resolve);
    if (Date.now() - t0 > 20000) return resolve();
    setTimeout(poll, 100);
  })();
});
const imgs = Array.from(document.images).map(i => i.complete ? Promise.resolve() : new Promise(r => { i.onload = i.onerror = r; }));
Promise.all([mathjax, ...imgs]).then(() => {
  const bad = [];
  const short = (s) => s.replace(/\s+/g, " ").trim().slice(0, 90);
  const main = document.querySelector("article.bd-article") || document.querySelector("main");
  if (!main) { done(["no article element"]); return; }
  const col = main.getBoundingClientRect();
  // 1. math: every math element typeset, no MathJax error, no literal backslash glyph
  for (const m of main.querySelectorAll(".math, span.math, div.math")) {
    if (!m.querySelector("mjx-container")) bad.push("untypeset math: " + short(m.textContent));
  }
  for (const e of main.querySelectorAll("mjx-merror")) bad.push("MathJax error: " + short(e.getAttribute("data-mjx-error") || e.textContent));
  if (main.querySelector("mjx-c.mjx-c5C")) bad.push("a literal backslash is typeset in a formula (e.g. \\_ inside \\text{})");
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT, {acceptNode: (n) => {
    for (let p = n.parentElement; p && p !== main; p = p.parentElement) {
      if (/^(PRE|CODE|SCRIPT|STYLE|MJX-CONTAINER|TEXTAREA)$/.test(p.tagName) || p.classList.contains("highlight")) return NodeFilter.FILTER_REJECT;
    }
    return NodeFilter.FILTER_ACCEPT; }});
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent;
    if (/\\\(|\\\[|\$\$|(^|[^\w$])\$[^\s$][^$]*[^\s$\\]\$($|[^\w$])/.test(t)) bad.push("raw math source in the text: " + short(t));
    if (/\/tmp\/|\/work\/|\/root\/|\/home\//.test(t)) bad.push("a build-machine path in the text: " + short(t));
  }
  // 2. nothing wider than the column: outputs, tables, display equations
  const wide = main.querySelectorAll("div.cell_output > *, div.cell_output table, table, div.math, mjx-container[display='true'], figure, img");
  for (const e of wide) {
    const r = e.getBoundingClientRect();
    if (r.width === 0) continue;
    const what = e.tagName.toLowerCase() + (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : "");
    if (r.right > col.right + 2 || r.left < col.left - 2) bad.push(`${what} runs outside the column (${Math.round(r.left)}..${Math.round(r.right)} vs ${Math.round(col.left)}..${Math.round(col.right)}): ${short(e.textContent)}`);
    else if (e.scrollWidth > e.clientWidth + 2 && e.tagName !== "IMG" && !e.closest("div.cell_input")) bad.push(`${what} is wider than its box (${e.scrollWidth} > ${e.clientWidth} px): ${short(e.textContent)}`);
  }
  // 2b. code cells wrap inside the column: no sideways scroll bar, nothing past the right edge
  for (const e of main.querySelectorAll("div.cell_input pre, div.highlight pre")) {
    const r = e.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.right > col.right + 2) bad.push(`a code cell runs outside the column (${Math.round(r.right)} > ${Math.round(col.right)}): ${short(e.textContent)}`);
    else if (e.scrollWidth > e.clientWidth + 2) bad.push(`a code cell scrolls sideways (${e.scrollWidth} > ${e.clientWidth} px): ${short(e.textContent)}`);
  }
  // 2c. tables write quantities as formulas: no plain-text math outside code and typeset math
  for (const cell of main.querySelectorAll("table td, table th, table caption")) {
    const w = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT, {acceptNode: (n) => {
      for (let p = n.parentElement; p && p !== cell; p = p.parentElement) {
        if (/^(CODE|PRE|MJX-CONTAINER|SCRIPT)$/.test(p.tagName) || p.classList.contains("math")) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT; }});
    let text = "";
    for (let n = w.nextNode(); n; n = w.nextNode()) text += n.textContent + " ";
    const m = text.match(asciiMath);
    if (m) bad.push(`plain-text math "${m[0]}" in a table: ${short(text)}`);
  }
  // 3. figures: loaded, numbered caption, alt text; no figure left as its text repr
  for (const i of main.querySelectorAll("img")) {
    if (!i.complete || i.naturalWidth === 0) { bad.push("image did not load: " + i.getAttribute("src")); continue; }
    if (!i.closest("div.cell_output")) continue;
    const fig = i.closest("figure");
    const cap = fig && fig.querySelector("figcaption");
    if (!cap || !/Fig\.\s*\d+/.test(cap.textContent)) bad.push("a plot without a numbered caption: " + i.getAttribute("src"));
    if (!(i.getAttribute("alt") || "").trim()) bad.push("a plot without alt text: " + i.getAttribute("src"));
  }
  for (const o of main.querySelectorAll("div.cell_output")) {
    if (/<Figure size \d+x\d+ with \d+ Axes>/.test(o.textContent)) bad.push("a figure printed as text: " + short(o.textContent));
  }
  // 4. one search field
  const searches = Array.from(document.querySelectorAll(".search-button-field, input[type='search'], input[name='q']")).filter(e => e.offsetParent !== null);
  if (searches.length > 1) bad.push(`${searches.length} visible search fields`);
  // 5. relative links, for the Python side to check on disk
  const links = Array.from(main.querySelectorAll("a[href]")).map(a => a.getAttribute("href")).filter(h => !/^(https?:|mailto:|#|javascript:|data:)/.test(h));
  done({bad, links});
}).catch(e => done({bad: ["page script failed: " + e], links: []}));
"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_page_reads_cleanly(site, browser, page, width):
    browser.set_window_size(width, HEIGHT)
    browser.get(site + page)
    out = browser.execute_async_script(_CHECK_PAGE, ASCII_MATH.pattern)
    if SHOTS:
        _screenshot(browser, Path(SHOTS) / f"{page.replace('/', '__')[:-5]}@{width}.png", width)
    problems = list(out["bad"])
    base = (ROOT / page).parent
    for href in out["links"]:
        target = unquote(urlparse(href).path)
        if target and not (base / target).resolve().exists():
            problems.append(f"broken link: {href}")
    assert not problems, f"{page} at {width} px: {len(problems)} problem(s):\n  " + "\n  ".join(problems[:25])


def _screenshot(browser, path: Path, width: int) -> None:
    """The whole page (up to 20,000 px tall) as one PNG; the window is put back afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = min(int(browser.execute_script("return document.documentElement.scrollHeight")), 20000)
    browser.set_window_size(width, max(height, HEIGHT))
    browser.save_screenshot(str(path))
    browser.set_window_size(width, HEIGHT)


def test_search_finds_counterexample(site, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(WIDTH, HEIGHT)
    browser.get(site + "search.html?q=counterexample")
    count = WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements("css selector", "#search-results ul.search li")) or None)
    assert count >= 1, f"search for 'counterexample' found {count} page(s)"


def test_every_toc_page_was_built():
    toc = (ROOT.parent.parent / "_toc.yml").read_text(encoding="utf-8")
    files = [ln.split("file:", 1)[1].strip() for ln in toc.splitlines() if "file:" in ln]
    files.append(toc.split("root:", 1)[1].split()[0])
    missing = [f for f in files if not (ROOT / f"{f}.html").exists()]
    assert not missing and len(PAGES) >= len(files), f"pages in _toc.yml with no built page: {missing}"

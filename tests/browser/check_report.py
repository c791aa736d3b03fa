#!/usr/bin/env python3
"""Check a `pipesim report` HTML file in a real headless Chromium.

The report (`pipesim report SCENARIO --out report.html`) is one
self-contained HTML file: inline SVG charts, inline CSS, no JavaScript, no
network resources. This script opens it in Chromium and checks the page as
rendered, not the HTML text:

* nothing is logged (console errors/warnings, exceptions, Log entries) and
  nothing but the report's own file:// URL is requested;
* every `figure.chart` holds one visible inline SVG with role="img", an
  accessible name (aria-labelledby) and a <title>; it is captioned
  "Figure N." (numbered in document order) and followed by a
  "Figure N data:" source line;
* `#answer` is visible and says something; `table#key-figures` cells carry
  `data-value`s equal to the run's summary.csv (with --run-dir);
* nothing is wider than the viewport;
* the page has a dark colour scheme (prefers-color-scheme);
* in print, charts do not break across pages and fit on an A4 page, and the
  printed PDF has each chart's title and source line on the same page.

It speaks the Chrome DevTools Protocol over --remote-debugging-pipe (JSON
messages, each ended by a NUL byte, read by Chromium from fd 3 and written
to fd 4), so it needs nothing but Python's standard library, Chromium and,
for the pagination check, poppler's pdftotext.

    python3 tests/browser/check_report.py report.html --run-dir RUN \\
        --min-charts 10 --pdf report.pdf --screenshot report.png

Exit status: 0 if every check passed, 1 with every failure listed.
"""

from __future__ import annotations

import argparse
import base64
import csv
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

# Exactly the flags the test contract names (plus the window size): no
# sandbox because CI runs as root, and no background traffic, which would
# fail (and wait) on a machine without network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

# A4 in CSS px is 794 x 1123; 15 mm margins leave 680 x 1010. Figures are
# measured at that width when printing (see check_print_layout).
A4_PRINT_WIDTH_PX = 680

# Paper sizes for --paper: (width in, height in, text width px, tallest
# figure px). Letter is 816 x 1056 CSS px; 15 mm margins leave 703 x 943.
PAPERS = {
    "a4": (8.27, 11.69, A4_PRINT_WIDTH_PX, 1000),
    "letter": (8.5, 11.0, 703, 930),
}


class CheckError(Exception):
    """The check could not run (no Chromium, timeout, protocol error)."""


# --------------------------------------------------------------------------
# Chrome DevTools Protocol over a pipe
# --------------------------------------------------------------------------


class CDP:
    """A minimal CDP client on Chromium's --remote-debugging-pipe.

    `send` writes one command and reads messages until the reply with the
    same id arrives; events read meanwhile are kept in `events` (in order)
    for `wait_event` and the final event checks. Every read honours the
    global deadline.
    """

    def __init__(self, write_fd: int, read_fd: int, deadline: float):
        self.write_fd = write_fd
        self.read_fd = read_fd
        self.deadline = deadline
        self.next_id = 0
        self.buffer = bytearray()
        self.events: list[dict] = []
        self.replies: dict[int, dict] = {}

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise CheckError("timed out talking to Chromium (see --timeout)")
        return left

    def _read_message(self, timeout: float) -> dict | None:
        """One message, or None if none arrived within `timeout` seconds."""
        end = time.monotonic() + timeout
        while True:
            nul = self.buffer.find(b"\0")
            if nul >= 0:
                raw = bytes(self.buffer[:nul])
                del self.buffer[: nul + 1]
                return json.loads(raw)
            wait = min(end - time.monotonic(), self._remaining())
            if wait <= 0:
                return None
            ready, _, _ = select.select([self.read_fd], [], [], wait)
            if not ready:
                continue
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise CheckError("Chromium closed the DevTools pipe (did it crash?)")
            self.buffer += chunk

    def _dispatch(self, msg: dict) -> None:
        if "id" in msg:
            self.replies[msg["id"]] = msg
        else:
            self.events.append(msg)

    def send(self, method: str, params: dict | None = None,
             session_id: str | None = None) -> dict:
        """Send a command and return its result; raise CheckError on an error reply."""
        self.next_id += 1
        cmd_id = self.next_id
        msg = {"id": cmd_id, "method": method, "params": params or {}}
        if session_id:
            msg["sessionId"] = session_id
        data = json.dumps(msg).encode() + b"\0"
        while data:
            _, ready, _ = select.select([], [self.write_fd], [], self._remaining())
            if ready:
                data = data[os.write(self.write_fd, data):]
        while cmd_id not in self.replies:
            got = self._read_message(self._remaining())
            if got is not None:
                self._dispatch(got)
        reply = self.replies.pop(cmd_id)
        if "error" in reply:
            raise CheckError(f"{method} failed: {reply['error'].get('message', reply['error'])}")
        return reply.get("result", {})

    def wait_event(self, method: str, session_id: str | None, start: int = 0) -> dict:
        """The first event `method` (of the session) at index >= start, waiting for it."""
        i = start
        while True:
            while i < len(self.events):
                ev = self.events[i]
                if ev.get("method") == method and ev.get("sessionId") == session_id:
                    return ev
                i += 1
            got = self._read_message(self._remaining())
            if got is not None:
                self._dispatch(got)

    def pump(self, seconds: float) -> None:
        """Read whatever arrives in the next `seconds` (late events)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            got = self._read_message(left)
            if got is not None:
                self._dispatch(got)


class Chromium:
    """A headless Chromium with its DevTools pipe on fds 3 (in) and 4 (out)."""

    def __init__(self, binary: str, width: int, height: int, deadline: float):
        self.user_data_dir = tempfile.mkdtemp(prefix="check-report-profile-")
        self.stderr = tempfile.TemporaryFile()
        cmd_r, cmd_w = os.pipe()    # we write commands, Chromium reads fd 3
        resp_r, resp_w = os.pipe()  # Chromium writes fd 4, we read replies

        def child_fds() -> None:
            # Runs in the child between fork and exec. Move both ends above
            # 4 first so the dup2s cannot clobber one another (and so that
            # dup2 never sees fd == target, which would keep CLOEXEC).
            r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(resp_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)  # dup2'd fds are inheritable: they survive exec
            os.dup2(w, 4)
            os.close(r)
            os.close(w)

        args = [binary, *CHROMIUM_FLAGS,
                f"--user-data-dir={self.user_data_dir}",
                "--remote-debugging-pipe",
                f"--window-size={width},{height}"]
        # Not pass_fds: it keeps fds by number and close_fds runs after
        # preexec_fn, so it would close the 3 and 4 made above unless this
        # process happened to own 3 and 4. Python's own fds are
        # non-inheritable (PEP 446), so close_fds=False leaks nothing else.
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.stderr, close_fds=False, preexec_fn=child_fds,
            start_new_session=True)  # its own process group, killed at the end
        os.close(cmd_r)
        os.close(resp_w)
        self.cdp = CDP(cmd_w, resp_r, deadline)
        self._fds = (cmd_w, resp_r)

    def stderr_tail(self, lines: int = 15) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def close(self) -> None:
        """Close the browser, kill its process group if needed, remove the profile."""
        if self.proc.poll() is None:
            try:  # politely first (only if the pipe still answers), then by force
                self.cdp.deadline = min(self.cdp.deadline, time.monotonic() + 3)
                self.cdp.send("Browser.close")
                self.proc.wait(timeout=3)
            except (CheckError, OSError, subprocess.TimeoutExpired):
                pass
        try:  # renderer/zygote children share the group we created
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.stderr.close()
        shutil.rmtree(self.user_data_dir, ignore_errors=True)


# --------------------------------------------------------------------------
# The page checks (JavaScript evaluated in the rendered page)
# --------------------------------------------------------------------------

JS_CHARTS = r"""
(() => {
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  return Array.from(document.querySelectorAll('figure.chart')).map((fig, i) => {
    const n = i + 1, problems = [];
    // top-level SVGs only: an <svg> nested inside the chart's svg is part of it
    const svgs = Array.from(fig.querySelectorAll('svg'))
      .filter(s => !(s.parentElement && s.parentElement.closest('svg')));
    let svgRect = null;
    if (svgs.length !== 1) problems.push(`has ${svgs.length} svg elements, expected exactly 1`);
    const svg = svgs[0];
    if (svg) {
      const r = svg.getBoundingClientRect();
      svgRect = [Math.round(r.width), Math.round(r.height)];
      if (!(r.width > 0 && r.height > 0)) problems.push(`svg is not rendered (size ${r.width}x${r.height})`);
      if (svg.getAttribute('role') !== 'img') problems.push(`svg role is ${JSON.stringify(svg.getAttribute('role'))}, expected "img"`);
      const ids = norm(svg.getAttribute('aria-labelledby')).split(' ').filter(Boolean);
      if (!ids.length) problems.push('svg has no aria-labelledby');
      const names = [];
      for (const id of ids) {
        const el = document.getElementById(id);
        if (!el) problems.push(`svg aria-labelledby points to missing id "${id}"`);
        else names.push(norm(el.textContent));
      }
      if (ids.length && names.length === ids.length && !norm(names.join(' '))) problems.push('svg accessible name (aria-labelledby) is empty');
      const title = Array.from(svg.children).find(c => c.localName === 'title');
      if (!title) problems.push('svg has no <title> child');
      else if (!norm(title.textContent)) problems.push('svg <title> is empty');
    }
    const cap = fig.querySelector('figcaption.title');
    const capText = cap ? norm(cap.innerText) : '';
    if (!cap) problems.push('has no figcaption.title');
    else if (!capText.startsWith(`Figure ${n}.`))
      problems.push(`caption should start "Figure ${n}." but reads ${JSON.stringify(capText.slice(0, 60))}`);
    else if (!visible(cap)) problems.push('caption is not visible');
    const sources = Array.from(fig.querySelectorAll('p.source')).filter(p => svg &&
      (svg.compareDocumentPosition(p) & Node.DOCUMENT_POSITION_FOLLOWING) && !svg.contains(p));
    const src = sources[0];
    const srcText = src ? norm(src.innerText) : '';
    if (!src) problems.push('has no p.source after its svg');
    else if (!srcText.startsWith(`Figure ${n} data:`))
      problems.push(`source line should start "Figure ${n} data:" but reads ${JSON.stringify(srcText.slice(0, 60))}`);
    else if (!visible(src)) problems.push('source line is not visible');
    return {n, id: fig.id || '', problems, title: capText, source: srcText, svg: svgRect};
  });
})()
"""

JS_ANSWER = r"""
(() => {
  const el = document.getElementById('answer');
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {width: r.width, height: r.height, text: (el.innerText || '').replace(/\s+/g, ' ').trim()};
})()
"""

JS_KEY_FIGURES = r"""
(() => {
  const table = document.querySelector('table#key-figures');
  if (!table) return null;
  return Array.from(table.querySelectorAll('td[data-strategy][data-metric][data-stat]')).map(td => {
    const r = td.getBoundingClientRect();
    return {strategy: td.dataset.strategy, metric: td.dataset.metric, stat: td.dataset.stat,
            value: td.getAttribute('data-value'), text: (td.innerText || '').trim(),
            visible: r.width > 0 && r.height > 0};
  });
})()
"""

JS_OVERFLOW = r"""
(() => {
  const de = document.documentElement, vw = de.clientWidth;
  const describe = el => el.localName + (el.id ? '#' + el.id : '') +
    (el.classList && el.classList.length ? '.' + Array.from(el.classList).join('.') : '');
  const wide = [], past = [];
  for (const el of document.querySelectorAll('body, body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > vw + 1) wide.push(`${describe(el)} is ${Math.round(r.width)}px wide`);
    else if (r.right > vw + 1 && r.width > 0) past.push(`${describe(el)} ends at x=${Math.round(r.right)}`);
  }
  return {scrollWidth: de.scrollWidth, clientWidth: vw, innerWidth: window.innerWidth,
          innerHeight: window.innerHeight, wide, past};
})()
"""

JS_BODY_BACKGROUND = "getComputedStyle(document.body).backgroundColor"

JS_PRINT_FIGURES = r"""
Array.from(document.querySelectorAll('figure.chart')).map((fig, i) => {
  const cs = getComputedStyle(fig);
  return {n: i + 1, id: fig.id || '', breakInside: cs.breakInside,
          pageBreakInside: cs.getPropertyValue('page-break-inside'),
          height: fig.getBoundingClientRect().height};
})
"""


class Page:
    """One tab of the browser, attached with a flat session."""

    def __init__(self, cdp: CDP, session_id: str):
        self.cdp = cdp
        self.session_id = session_id

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.cdp.send(method, params, self.session_id)

    def eval(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CheckError(f"evaluating a check in the page failed: {text}")
        return result["result"].get("value")

    def set_media(self, media: str = "", scheme: str = "light") -> None:
        self.send("Emulation.setEmulatedMedia", {
            "media": media,
            "features": [{"name": "prefers-color-scheme", "value": scheme}]})

    def set_viewport(self, width: int, height: int) -> None:
        # headless --window-size includes window chrome (1280x1600 gives a
        # 1280x1513 viewport), so the viewport is pinned explicitly
        self.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def screenshot(self, path: Path, width: int, height: int, scale: float) -> None:
        shot = self.send("Page.captureScreenshot", {
            "format": "png",
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}})
        data = base64.b64decode(shot["data"])
        if not data.startswith(b"\x89PNG"):
            raise CheckError("Page.captureScreenshot did not return a PNG")
        path.write_bytes(data)


# --------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Text as compared between the DOM and pdftotext: NFKC, one space for any whitespace."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    return re.sub(r"\s+", " ", text).strip()


def dark_path(path: Path) -> Path:
    """report.png -> report-dark.png"""
    return path.with_name(f"{path.stem}-dark{path.suffix}")


class Checker:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.report = Path(args.report).resolve()
        self.url = self.report.as_uri()
        self.failures: list[str] = []
        self.stats = {"charts": 0, "cells": 0, "console": 0, "requests": 0, "pages": None}
        self.figures: list[dict] = []
        self.paper = "a4"

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print(f"FAIL: {message}", flush=True)

    def ok(self, message: str) -> None:
        print(f"ok:   {message}", flush=True)

    # -- the run --------------------------------------------------------

    def run(self, page: Page) -> None:
        a = self.args
        # Enable the domains before navigating so nothing is missed.
        for domain in ("Runtime", "Log", "Network", "Page"):
            page.send(f"{domain}.enable")
        page.set_media("", "light")
        page.set_viewport(a.width, a.height)
        mark = len(page.cdp.events)
        nav = page.send("Page.navigate", {"url": self.url})
        if nav.get("errorText"):
            raise CheckError(f"could not load {self.url}: {nav['errorText']}")
        page.cdp.wait_event("Page.loadEventFired", page.session_id, mark)
        page.cdp.pump(a.grace)

        self.check_charts(page)
        self.check_answer(page)
        self.check_key_figures(page)
        self.check_overflow(page)
        self.check_colour_schemes(page)
        if a.screenshot:
            page.set_media("", "light")
            page.screenshot(Path(a.screenshot), a.width, a.height, a.screenshot_scale)
            self.ok(f"screenshots written: {a.screenshot}, {dark_path(Path(a.screenshot))}")
        for paper in a.paper:
            self.paper = paper
            self.check_print_layout(page)
            pdf = self.print_pdf(page)
            if pdf is not None:
                self.check_pdf_pages(pdf)
        page.cdp.pump(a.grace)  # anything the emulation or printing logged
        self.check_events(page)

    # -- individual checks ---------------------------------------------

    def check_charts(self, page: Page) -> None:
        self.figures = page.eval(JS_CHARTS)
        self.stats["charts"] = len(self.figures)
        bad = 0
        for fig in self.figures:
            name = f"Figure {fig['n']}" + (f" (#{fig['id']})" if fig["id"] else "")
            for problem in fig["problems"]:
                self.fail(f"{name}: {problem}")
            bad += bool(fig["problems"])
        if len(self.figures) < self.args.min_charts:
            self.fail(f"{len(self.figures)} figure.chart elements, expected at least {self.args.min_charts}")
        else:
            self.ok(f"{len(self.figures)} figure.chart elements (at least {self.args.min_charts})")
        if self.figures and not bad:
            self.ok("every chart: one rendered svg, role=img, aria-labelledby, <title>, "
                    "'Figure N.' caption, 'Figure N data:' source")

    def check_answer(self, page: Page) -> None:
        answer = page.eval(JS_ANSWER)
        if answer is None:
            self.fail("#answer is missing")
        elif not (answer["width"] > 0 and answer["height"] > 0):
            self.fail(f"#answer is not visible (size {answer['width']}x{answer['height']})")
        elif len(answer["text"]) < 40:
            self.fail(f"#answer text has {len(answer['text'])} characters, expected at least 40: "
                      f"{answer['text']!r}")
        else:
            self.ok(f"#answer visible, {len(answer['text'])} characters")

    def check_key_figures(self, page: Page) -> None:
        cells = page.eval(JS_KEY_FIGURES)
        if cells is None:
            self.fail("table#key-figures is missing")
            return
        if not cells:
            self.fail("table#key-figures has no td[data-strategy][data-metric][data-stat] cells")
            return
        for c in cells:
            where = f"key-figures cell {c['strategy']}/{c['metric']}/{c['stat']}"
            if c["value"] is None:
                self.fail(f"{where} has no data-value")
            if not c["text"] or not c["visible"]:
                self.fail(f"{where} shows no visible text")
        if not self.args.run_dir:
            self.ok(f"table#key-figures: {len(cells)} cells (no --run-dir: values not compared)")
            return
        summary = Path(self.args.run_dir) / "summary.csv"
        try:
            with summary.open(newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                columns = reader.fieldnames or []
                rows = {(r.get("strategy"), r.get("metric")): r for r in reader}
        except OSError as e:
            self.fail(f"cannot read {summary}: {e}")
            return
        for needed in ("strategy", "metric"):
            if needed not in columns:
                self.fail(f"{summary} has no '{needed}' column (header: {','.join(columns)})")
                return
        matched = compared = 0
        for c in cells:
            where = f"key-figures cell {c['strategy']}/{c['metric']}/{c['stat']}"
            row = rows.get((c["strategy"], c["metric"]))
            if row is None:
                self.fail(f"{where}: no row strategy={c['strategy']}, metric={c['metric']} in {summary}")
                continue
            if c["stat"] not in columns:
                self.fail(f"{where}: summary.csv has no column '{c['stat']}' "
                          f"(columns: {','.join(columns)})")
                continue
            if c["value"] is None:
                continue  # already reported
            compared += 1
            if c["value"] == row[c["stat"]]:
                matched += 1
            else:
                self.fail(f"{where}: data-value {c['value']!r} but summary.csv has {row[c['stat']]!r}")
        self.stats["cells"] = matched
        if compared < 3:
            self.fail(f"only {compared} key-figures cells compared with summary.csv, expected at least 3")
        if matched == compared and compared:
            self.ok(f"table#key-figures: {matched} of {len(cells)} cells match {summary}")
        else:
            print(f"      table#key-figures: {matched} of {compared} compared cells match", flush=True)

    def check_overflow(self, page: Page) -> None:
        o = page.eval(JS_OVERFLOW)
        size = f"viewport {o['innerWidth']}x{o['innerHeight']}"
        if o["scrollWidth"] > o["clientWidth"] + 1:
            self.fail(f"page scrolls sideways: scrollWidth {o['scrollWidth']} > clientWidth "
                      f"{o['clientWidth']} ({size})"
                      + ("; past the edge: " + "; ".join(o["past"][:5]) if o["past"] else ""))
        for w in o["wide"][:5]:
            self.fail(f"wider than the viewport ({o['clientWidth']}px): {w}")
        if len(o["wide"]) > 5:
            self.fail(f"... and {len(o['wide']) - 5} more elements wider than the viewport")
        if o["scrollWidth"] <= o["clientWidth"] + 1 and not o["wide"]:
            self.ok(f"no horizontal overflow ({size})")

    def check_colour_schemes(self, page: Page) -> None:
        page.set_media("", "light")
        light = page.eval(JS_BODY_BACKGROUND)
        page.set_media("", "dark")
        dark = page.eval(JS_BODY_BACKGROUND)
        if self.args.screenshot:
            page.screenshot(dark_path(Path(self.args.screenshot)), self.args.width,
                            self.args.height, self.args.screenshot_scale)
        page.set_media("", "light")
        if light == dark:
            self.fail(f"body background is {light} in both light and dark "
                      "(no prefers-color-scheme: dark styles?)")
        else:
            self.ok(f"body background light {light}, dark {dark}")

    def check_print_layout(self, page: Page) -> None:
        """Print media at the A4 text width: figures avoid breaks and fit a page."""
        _, _, print_width, max_height = self.paper_size()
        page.set_media("print", "light")
        page.set_viewport(print_width, self.args.height)
        try:
            figures = page.eval(JS_PRINT_FIGURES)
        finally:
            page.set_viewport(self.args.width, self.args.height)
            page.set_media("", "light")
        bad = 0
        for f in figures:
            name = f"Figure {f['n']}" + (f" (#{f['id']})" if f["id"] else "")
            if "avoid" not in (f["breakInside"], f["pageBreakInside"]) and f["breakInside"] != "avoid-page":
                self.fail(f"{name}: in print, break-inside is {f['breakInside']!r} "
                          f"(page-break-inside {f['pageBreakInside']!r}), expected 'avoid'")
                bad += 1
            if f["height"] > max_height:
                self.fail(f"{name}: {f['height']:.0f}px tall in print at {print_width}px "
                          f"wide, more than a {self.paper} page ({max_height}px)")
                bad += 1
        if figures and not bad:
            tallest = max(f["height"] for f in figures)
            self.ok(f"print ({self.paper}): every figure break-inside: avoid, tallest {tallest:.0f}px "
                    f"(max {max_height}px at {print_width}px wide)")

    def paper_size(self) -> tuple:
        """The current paper: A4 honours --print-width / --max-figure-height."""
        if self.paper == "a4":
            w, h, _, _ = PAPERS["a4"]
            return (w, h, self.args.print_width, self.args.max_figure_height)
        return PAPERS[self.paper]

    def print_pdf(self, page: Page) -> bytes | None:
        width, height, _, _ = self.paper_size()
        result = page.send("Page.printToPDF", {
            "paperWidth": width, "paperHeight": height,
            "printBackground": True, "preferCSSPageSize": True})
        pdf = base64.b64decode(result["data"])
        if not pdf.startswith(b"%PDF"):
            self.fail("Page.printToPDF did not return a PDF")
            return None
        out = None
        if self.args.pdf:
            out = Path(self.args.pdf)
            if self.paper != self.args.paper[0]:
                out = out.with_name(f"{out.stem}-{self.paper}{out.suffix}")
            out.write_bytes(pdf)
        self.ok(f"printed to PDF on {self.paper} ({len(pdf)} bytes)" + (f": {out}" if out else ""))
        return pdf

    def check_pdf_pages(self, pdf: bytes) -> None:
        """Each figure's title and source line must be on the same PDF page."""
        pdftotext = shutil.which("pdftotext")
        if not pdftotext:
            print("note: pdftotext not found (install poppler-utils): "
                  "PDF pagination not checked", flush=True)
            return
        with tempfile.TemporaryDirectory(prefix="check-report-pdf-") as tmp:
            path = Path(tmp) / "report.pdf"
            path.write_bytes(pdf)
            pages = [normalise(t) for t in self._pdf_page_texts(pdftotext, path)]
        self.stats["pages"] = len(pages)
        print(f"      PDF has {len(pages)} pages", flush=True)

        def first_page(needles: list) -> int | None:
            for needle in needles:
                for number, text in enumerate(pages, 1):
                    if (needle.search(text) if isinstance(needle, re.Pattern) else needle in text):
                        return number
            return None

        bad = 0
        for fig in self.figures:
            n = fig["n"]
            # the caption's own text first (a prose "see Figure 3." elsewhere
            # must not count), then the bare "Figure N." as a fallback
            title_at = first_page([normalise(fig["title"])[:50],
                                   re.compile(rf"\bFigure {n}\.(?!\d)")] if fig["title"] else
                                  [re.compile(rf"\bFigure {n}\.(?!\d)")])
            source_at = first_page([normalise(fig["source"])[:50], f"Figure {n} data:"]
                                   if fig["source"] else [f"Figure {n} data:"])
            if title_at is None:
                self.fail(f"PDF: 'Figure {n}.' (its title) is on no page")
            if source_at is None:
                self.fail(f"PDF: 'Figure {n} data:' is on no page")
            if title_at and source_at and title_at != source_at:
                self.fail(f"PDF: Figure {n} is cut across pages (title on page {title_at}, "
                          f"'Figure {n} data:' on page {source_at})")
            bad += not (title_at and title_at == source_at)
        if self.figures and not bad:
            self.ok(f"PDF: each of {len(self.figures)} figures has its title and data line on one page")

    def _pdf_page_texts(self, pdftotext: str, path: Path) -> list[str]:
        def remaining() -> float:
            return max(1.0, self.deadline - time.monotonic())

        count = None
        pdfinfo = shutil.which("pdfinfo")
        if pdfinfo:
            info = subprocess.run([pdfinfo, str(path)], capture_output=True, text=True,
                                  timeout=remaining())
            m = re.search(r"^Pages:\s+(\d+)", info.stdout, re.M)
            count = int(m.group(1)) if m else None
        texts, p = [], 1
        while count is None or p <= count:
            out = subprocess.run([pdftotext, "-enc", "UTF-8", "-f", str(p), "-l", str(p),
                                  str(path), "-"], capture_output=True, timeout=remaining())
            if out.returncode != 0:
                if count is None:
                    break  # past the last page
                raise CheckError(f"pdftotext failed on page {p}: {out.stderr.decode(errors='replace')}")
            texts.append(out.stdout.decode("utf-8", errors="replace"))
            p += 1
        return texts

    def check_events(self, page: Page) -> None:
        logged, requests = [], []
        for ev in page.cdp.events:
            if ev.get("sessionId") != page.session_id:
                continue
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                logged.append(f"console.{p['type']}: {text}")
            elif method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                logged.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
                e = p["entry"]
                where = f" ({e['url']})" if e.get("url") else ""
                logged.append(f"log {e['level']} [{e.get('source', '?')}]: {e.get('text', '')}{where}")
            elif method == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if url.split("#", 1)[0] != self.url:
                    requests.append(url)
        self.stats["console"] = len(logged)
        self.stats["requests"] = len(requests)
        for entry in logged:
            self.fail(f"page logged {entry}")
        for url in requests:
            self.fail(f"page requested {url[:200]} (only {self.url} is allowed)")
        if not logged:
            self.ok("no console errors or warnings, no exceptions, no Log errors or warnings")
        if not requests:
            self.ok("no request but the report itself")

    # -- entry point ----------------------------------------------------

    def main(self) -> int:
        a = self.args
        started = time.monotonic()
        self.deadline = started + a.timeout
        if not self.report.is_file():
            print(f"error: no such report: {self.report}", file=sys.stderr)
            return 1
        binary = a.chromium or shutil.which("chromium")
        if not binary:
            print("error: chromium not found on PATH (apt-get install chromium, or pass --chromium)",
                  file=sys.stderr)
            return 1

        def on_alarm(signum, frame):  # backstop in case something blocks outside select
            raise CheckError(f"timed out after {a.timeout:.0f} s")

        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(int(a.timeout) + 10)
        browser = None
        try:
            browser = Chromium(binary, a.width, a.height, self.deadline)
            cdp = browser.cdp
            target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.run(Page(cdp, session))
        except CheckError as e:
            self.fail(f"check aborted: {e}")
            if browser is not None:
                tail = browser.stderr_tail()
                if tail:
                    print("chromium stderr (last lines):\n" + tail, file=sys.stderr)
        finally:
            if browser is not None:
                browser.close()
            signal.alarm(0)

        s = self.stats
        verdict = "PASS" if not self.failures else f"FAIL ({len(self.failures)} failures)"
        pages = "not checked" if s["pages"] is None else s["pages"]
        print(f"check_report: {verdict} {self.report.name}: charts {s['charts']}, "
              f"cells matched {s['cells']}, console errors {s['console']}, "
              f"network requests {s['requests']}, PDF pages {pages} "
              f"({time.monotonic() - started:.1f} s)")
        if self.failures:
            print("failures:", file=sys.stderr)
            for f in self.failures:
                print(f"  - {f}", file=sys.stderr)
            return 1
        return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Check a pipesim HTML report in headless Chromium (see the module docstring).")
    p.add_argument("report", help="the report HTML file")
    p.add_argument("--run-dir", help="a `pipesim run --out` directory: compare the key figures "
                                     "with its summary.csv")
    p.add_argument("--min-charts", type=int, default=1, help="at least this many figure.chart (default 1)")
    p.add_argument("--pdf", help="write the printed PDF here")
    p.add_argument("--screenshot", help="write a PNG of the top of the page here "
                                        "(and a dark one as NAME-dark.png)")
    p.add_argument("--screenshot-scale", type=float, default=1.0, help="screenshot clip scale (default 1)")
    p.add_argument("--chromium", help="the Chromium binary (default: chromium on PATH)")
    p.add_argument("--width", type=int, default=1280, help="viewport width in CSS px (default 1280)")
    p.add_argument("--height", type=int, default=1600, help="viewport height in CSS px (default 1600)")
    p.add_argument("--print-width", type=int, default=A4_PRINT_WIDTH_PX,
                   help=f"layout width for the print checks (default {A4_PRINT_WIDTH_PX}: A4 less 15 mm margins)")
    p.add_argument("--max-figure-height", type=float, default=1000,
                   help="tallest a figure may be in print, CSS px (default 1000; A4 less margins is ~1010)")
    p.add_argument("--paper", type=lambda v: [x.strip().lower() for x in v.split(",")],
                   default=["a4"], help="paper sizes to print on, comma-separated: a4, letter "
                                        "(default a4; --pdf is the first, others get -SIZE)")
    p.add_argument("--grace", type=float, default=0.5, help="seconds to wait for late events (default 0.5)")
    p.add_argument("--timeout", type=float, default=60, help="give up after this many seconds (default 60)")
    args = p.parse_args(argv)
    unknown = [x for x in args.paper if x not in PAPERS]
    if unknown:
        p.error(f"--paper: unknown size {', '.join(unknown)} (expected a4 or letter)")
    return args


if __name__ == "__main__":
    sys.exit(Checker(parse_args(sys.argv[1:])).main())

"""The HTML report, end to end: the real tktrace traces a small xdist suite
(tests/e2e/suites/html_oom) that is OOM-killed under tktrace's own --memory-limit, writes
--html, and the page is checked as text (self-contained, escaped, the kill on the victim's
timeline) and as a picture: headless Chromium takes a screenshot, decoded here in pure Python,
where the kill marker's colour must show in the timeline area (and vanish when the marker is
taken out of the page)."""
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

from conftest import MAX_LIMIT, TKTRACE, inner_env, inner_pytest, memcg_root, nodeids_written, run_tktrace

MiB = 1 << 20
LIMIT = 300 * MiB
KILL_RGB = (0xE4, 0x00, 0x2B)  # the kill marker's colour in user/reports/html.c, used nowhere else
RSS_RGB = (0x1F, 0x6F, 0xB4)  # the resident-memory line's


def esc(s):
    """What tkt_html_escape makes of s."""
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


# ---- PNG decoding (8-bit RGB or RGBA, non-interlaced: what Chromium writes) ----------------

def png_decode(data):
    """(width, height, channels, rows): rows is a list of bytes, channels per pixel."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, hdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def pixels_near(img, rgb, tol=8):
    """[(x, y)] of pixels within tol of rgb in every channel."""
    w, h, bpp, rows = img
    out = []
    for y, row in enumerate(rows):
        for x in range(w):
            r, g, b = row[x * bpp:x * bpp + 3]
            if abs(r - rgb[0]) <= tol and abs(g - rgb[1]) <= tol and abs(b - rgb[2]) <= tol:
                out.append((x, y))
    return out


# ---- Chromium ------------------------------------------------------------------------------

def find_chromium():
    """Path of a working headless Chromium, or skip with the reason."""
    paths = [p for p in (shutil.which("chromium"), shutil.which("chromium-browser"),
                         "/usr/bin/chromium") if p and os.path.exists(p)]
    if not paths:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; "
                    "scripts/install-deps.sh --test does it)")
    for path in paths:
        real = os.path.realpath(path)
        try:
            head = Path(real).read_bytes()[:4096]
        except OSError:
            head = b""
        snap = ("/snap/" in path or os.path.basename(real) == "snap"
                or (head.startswith(b"#!") and b"snap" in head and b"/usr/lib/chromium" not in head))
        if not snap:
            break
    else:
        pytest.skip(f"{paths[0]} is Ubuntu's snap shim; snaps do not run here: install a "
                    "Chromium deb (Debian's chromium) to run the browser tests")
    try:
        v = subprocess.run([path, "--headless", "--no-sandbox", "--version"], capture_output=True,
                           text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"{path} does not run: {e}")
    if v.returncode != 0 or "Chromium" not in v.stdout + v.stderr:
        pytest.skip(f"{path} --version failed: {(v.stdout + v.stderr)[-300:]}")
    return path


def screenshot(chromium, html_path, png_path, size=(1400, 1400)):
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--window-size={size[0]},{size[1]}", f"--screenshot={png_path}",
             Path(html_path).resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and Path(png_path).exists(), p.stderr[-2000:]
    return png_decode(Path(png_path).read_bytes())


# ---- the run -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def html_run(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("end-to-end tests load BPF programs: run them as root")
    if not memcg_root()[0]:
        pytest.skip("no memory cgroup controller mounted: --memory-limit cannot work here")
    work = tmp_path_factory.mktemp("html") / "suite"
    shutil.copytree(Path(__file__).parent / "suites" / "html_oom", work)
    grow_max = 2 * LIMIT
    # Even without the limit the worker would stay under 1 GiB (leaks + growth + python).
    assert 3 * 50 * MiB + grow_max + 100 * MiB <= MAX_LIMIT
    env = inner_env({"E2E_LEAK": str(50 * MiB), "E2E_STEP": str(20 * MiB),
                     "E2E_GROW_MAX": str(grow_max), "E2E_TEMP": str(40 * MiB)})
    html = work / "report.html"
    run = run_tktrace(inner_pytest("-n", "2", "--dist", "loadfile", "--max-worker-restart", "0"),
                      work, opts=["--memory-limit", "300M", "--html", str(html)], env=env)
    assert run.report is not None, run
    assert html.exists() and html.stat().st_size > 0, run
    return run, work, html.read_text(encoding="utf-8")


def test_html_is_self_contained(html_run):
    run, work, page = html_run
    assert page.startswith("<!DOCTYPE html>\n") and page.rstrip().endswith("</html>"), page[-200:]
    # Nothing to fetch: no URL, no reference to another file, one inline script and style.
    assert not re.search(r"(?i)https?:", page), re.search(r"(?i).{80}https?:.{80}", page)
    assert not re.search(r"(?i)\s(src|href|xlink:href)\s*=", page)
    assert not re.search(r"(?i)<link|@import|url\(|<iframe|<img|<object|<embed", page)
    assert page.count("<script") == 1 and page.count("<style") == 1


def test_html_explains_the_kill_on_the_victims_timeline(html_run):
    run, work, page = html_run
    rep = run.report
    ids = nodeids_written(work)
    pid, worker = (work / "pid-innocent.txt").read_text().split()
    assert len(rep["oom_kills"]) == 1, rep["oom_kills"]
    o = rep["oom_kills"][0]
    assert o["victim"]["pid"] == int(pid) and o["victim"]["test"] == ids["innocent"], o
    assert not (work / "innocent-survived.txt").exists()

    # At the top, before any timeline: the explanation with the verdict and the rerun command.
    top = page[:page.index("<h2>Memory over time</h2>")]
    assert "killed 1 traced process" in top, top
    assert f"OOM kill 1 of 1 at {o['time_s']:.2f} s" in top, top
    assert "3 earlier tests on this process left" in top, top
    assert "it is probably not the main culprit" in top, top
    assert esc(o["rerun"]) in top, (o["rerun"], top)

    # One timeline per worker; the kill marker on the victim's, naming victim and trigger.
    figures = re.findall(r"<figure><figcaption>(\S+) <span>pid (\d+),.*?</figure>", page, re.S)
    assert sorted(w for w, _ in figures) == ["gw0", "gw1"], figures
    fig = re.search(rf"<figure><figcaption>{worker} <span>pid {pid},.*?</figure>", page, re.S)
    assert fig, figures
    kills = re.findall(r'<g class="kill">.*?</g>', page, re.S)
    assert len(kills) == 1 and kills[0] in fig.group(0), kills
    assert f"OOM kill: victim pid {pid} " in kills[0], kills[0]
    assert esc(ids["innocent"]) in kills[0], kills[0]
    assert "trigger: the victim&#39;s own allocation" in kills[0], kills[0]
    assert "cgroup limit 300.0 MiB" in kills[0], kills[0]
    assert fig.group(0).count('<line class="limit"') == 1

    # The line is sampled: far more points than the 4 tests' boundaries give.
    line = re.search(r'<polyline class="rss" points="([^"]*)"', fig.group(0))
    assert line and len(line.group(1).split()) >= 15, line

    # Node ids with markup and quotes are escaped everywhere, in bands, tables and labels.
    for name in ("cache0", "cache1"):
        nid = ids[name]
        assert any(c in nid for c in "<&>\""), nid
        assert nid not in page, nid
        assert page.count(esc(nid)) >= 3, nid  # band title, explanation or table, text report
    table = page[page.index("<h2>Tests "):page.index("<h2>Processes killed</h2>")]
    rows = re.findall(r'<tr(?: class="killed")?><td class="n" data-v="\d+">', table)
    assert len(rows) == len(rep["tests"]) == 7, rows
    assert table.count('<tr class="killed">') == 1


def test_html_screenshot_shows_the_kill_marker(html_run, tmp_path):
    chromium = find_chromium()
    run, work, page = html_run
    img = screenshot(chromium, work / "report.html", tmp_path / "report.png")
    w, h, bpp, rows = img
    assert (w, h) == (1400, 1400), (w, h)

    # Not blank: many colours, and a good share of the page is not the background.
    colours = {row[x * bpp:x * bpp + 3] for row in rows[::7] for x in range(0, w, 7)}
    assert len(colours) > 40, len(colours)
    bg = max(colours, key=lambda c: sum(1 for row in rows[::7] for x in range(0, w, 7)
                                        if row[x * bpp:x * bpp + 3] == c))
    inked = sum(1 for row in rows[::5] for x in range(0, w, 5) if row[x * bpp:x * bpp + 3] != bg)
    assert inked > (w // 5) * (h // 5) // 4, inked

    # The kill marker's colour shows, inside the timelines (where the memory line is drawn).
    red = pixels_near(img, KILL_RGB)
    blue = pixels_near(img, RSS_RGB)
    assert len(blue) > 200, len(blue)
    assert len(red) > 60, len(red)
    top, bottom = min(y for _, y in blue), max(y for _, y in blue)
    inside = [p for p in red if top - 40 <= p[1] <= bottom + 40]
    assert len(inside) > 60, (len(inside), top, bottom, red[:5])
    shot = os.environ.get("TKTRACE_HTML_SHOT")
    if shot:  # how docs/html-report.png is made
        shutil.copy(tmp_path / "report.png", shot)

    # And only the marker has it: the same page without the marker has none.
    bare = re.sub(r'<g class="kill">.*?</g>', "", page, flags=re.S)
    assert bare != page
    (tmp_path / "bare.html").write_text(bare, encoding="utf-8")
    img2 = screenshot(chromium, tmp_path / "bare.html", tmp_path / "bare.png")
    assert len(pixels_near(img2, KILL_RGB)) == 0
    assert len(pixels_near(img2, RSS_RGB)) > 200


def test_html_tables_sort_in_the_browser(html_run, tmp_path):
    """The page's own script sorts: click "peak growth" twice (largest first, then smallest)."""
    chromium = find_chromium()
    run, work, page = html_run
    probe = ("<script>var th=[].slice.call(document.querySelectorAll('table.sort')[0].tHead.rows[0]"
             ".cells).filter(function(c){return c.textContent==='peak growth'})[0];"
             "function order(){return [].slice.call(document.querySelectorAll('table.sort')[0]"
             ".tBodies[0].rows).map(function(r){return r.cells[0].textContent}).join(',')}"
             "th.click();var a=order();th.click();"
             "document.body.setAttribute('data-probe',a+'/'+order())</script></body>")
    (tmp_path / "probe.html").write_text(page.replace("</body>", probe), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        p = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--dump-dom", (tmp_path / "probe.html").as_uri()],
            capture_output=True, text=True, timeout=120)
    m = re.search(r'data-probe="([\d,]+)/([\d,]+)"', p.stdout)
    assert m, p.stdout[-2000:] + p.stderr[-2000:]
    tests = run.report["tests"]  # in the table's default order, # = index + 1
    growth = [tests[int(i) - 1]["peak_growth_bytes"] for i in m.group(1).split(",")]
    assert sorted(map(int, m.group(1).split(","))) == list(range(1, len(tests) + 1))
    assert growth == sorted(growth, reverse=True) and growth[0] > growth[-1], growth
    back = [tests[int(i) - 1]["peak_growth_bytes"] for i in m.group(2).split(",")]
    assert back == sorted(back), back


def test_html_output_is_not_written_through_a_link(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("tktrace needs root before it opens its outputs")
    target = tmp_path / "target.txt"
    target.write_text("keep")
    link = tmp_path / "report.html"
    link.symlink_to(target)
    p = subprocess.run([TKTRACE, "--html", str(link), "--", "true"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 125, p
    assert p.stderr.startswith(f"tktrace: cannot write {link}: "), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert target.read_text() == "keep"

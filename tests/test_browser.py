"""The HTML report in a real browser: headless Chromium driven by Selenium.

Loads reports written by the explain and demo pipelines from disk (file:// URL) and checks

* what the page *says*: every number the page shows in its tables -- predicted and true
  azimuth / elevation, class, confidence, angular error, the most probable classes with their
  probabilities, channel relevance and its shares, the DOA timeline of a recording -- read from
  the rendered DOM and compared with ``results.json`` to the precision the page prints; the
  page's machine-readable summary is ``results.json`` itself;
* that it renders: every image decodes (naturalWidth > 0), every audio element reports a finite
  duration > 0 once its metadata has loaded, and the console shows no SEVERE entries. A
  screenshot is saved into tmp_path (and into $AUDIOLRP_SCREENSHOT_DIR when that is set).

Where Chromium, chromedriver or selenium is missing the tests skip on a developer machine and
fail in CI (``CI`` set; ``.ci/run`` installs Chromium, ``pip install .[dev]`` selenium).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from ci_policy import skip_or_fail

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _find_browser() -> tuple[str, str]:
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if browser is None or not Path(driver).exists():
        skip_or_fail(
            "headless Chromium/chromedriver not installed "
            "(apt-get install chromium chromium-driver)"
        )
    return browser, driver


#: A first-order recording whose source moves: (azimuth, elevation) in degrees per second.
MOVES_DEG = ((60.0, 20.0), (-100.0, 0.0), (170.0, -30.0))


def _write_moving_source(path: Path, fs: int = 16000) -> None:
    """First-order AmbiX (ACN/SN3D) noise-burst plane wave, one second from each of
    :data:`MOVES_DEG` (so the windows' predictions and relevance differ)."""
    rng = np.random.default_rng(0)
    parts = []
    for az_deg, el_deg in MOVES_DEG:
        s = 0.2 * rng.standard_normal(fs) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * np.arange(fs) / fs))
        az, el = math.radians(az_deg), math.radians(el_deg)
        parts.append(np.stack([s, math.sin(az) * math.cos(el) * s, math.sin(el) * s,
                               math.cos(az) * math.cos(el) * s]))
    sf.write(path, np.concatenate(parts, axis=1).T, fs, subtype="FLOAT")


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    """(chromium, chromedriver) paths; skips (fails in CI) before any work when the browser or
    selenium is missing."""
    paths = _find_browser()
    try:
        import selenium.webdriver  # noqa: F401
    except ImportError:
        skip_or_fail("selenium not installed (pip install .[dev])")
    return paths


@pytest.fixture(scope="module")
def tiny_model(browser_paths, tmp_path_factory) -> str:
    from audiolrp.models import build_model, save

    tmp = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    model = build_model("hoa", 1, size="tiny")
    with torch.no_grad():  # sharper scores: confidences of 0.4-0.6 that differ per window
        model.output.weight.mul_(30.0)
        model.output.bias.mul_(30.0)
    save(model, tmp / "tiny", feature="hoa", order=1)
    return str(tmp / "tiny.json")


def _explain_report(tmp: Path, model: str) -> Path:
    from audiolrp.cli.explain import run_recording

    rec = tmp / "rec.wav"
    _write_moving_source(rec)
    # windows at 0, 0.5, ..., 2 s; the first and the last analysed in detail
    run_recording(rec, out_dir=tmp / "out", model=model, quiet=True, windows=[0, 4])
    return tmp / "out" / "report.html"


def _demo_report(tmp: Path, model: str) -> Path:
    from audiolrp.cli.demo import run_demo

    run_demo(tmp / "demo", model=model, seed=1, quiet=True, pixel_flipping_scenes=1)
    return tmp / "demo" / "report.html"


# ------------------------------------------------------------------ the page's numbers
#: Every section of the page as the browser renders it: id, tables (rows of cell texts) and
#: the text of its <pre> blocks.
PAGE_SCRIPT = """
return Array.from(document.querySelectorAll('section')).map(s => ({
    id: s.id,
    tables: Array.from(s.querySelectorAll('table')).map(t => Array.from(t.rows).map(
        r => Array.from(r.cells).map(c => c.innerText.trim()))),
    pre: Array.from(s.querySelectorAll('pre')).map(p => p.textContent),
}));
"""

NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"


def _tolerance(text: str) -> float:
    """Half a unit in the last digit printed (``"0.004"`` -> 5e-4, ``"1.234e+04"`` -> 5)."""
    exponent = Decimal(text).as_tuple().exponent
    assert isinstance(exponent, int)
    return 0.5 * 10.0**exponent


def assert_shows(text: str, value: float, what: str) -> None:
    """The page's ``text`` is ``value`` printed to the precision the page chose (``value``
    itself may be rounded in ``results.json``: half its last digit is allowed too)."""
    assert re.fullmatch(NUMBER, text), (what, text)
    tol = _tolerance(text) + _tolerance(repr(float(value))) + 1e-12
    assert abs(float(text) - float(value)) <= tol, (what, text, value)


def _after(label: str, text: str) -> str:
    """The number after the first ``label`` in ``text``."""
    m = re.search(rf"{label}\s+({NUMBER})", text)
    assert m, (label, text)
    return m.group(1)


def _sections(page: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in page}


def _table(section: dict[str, Any], *columns: str) -> tuple[list[str], list[list[str]]]:
    """The table of ``section`` whose header names every one of ``columns`` (words)."""
    for rows in section["tables"]:
        header = [h.lower() for h in rows[0]]
        if all(any(c in h for h in header) for c in columns):
            return header, rows[1:]
    raise AssertionError(f"no table with columns {columns} in section {section['id']}")


def _col(header: list[str], name: str) -> int:
    return next(i for i, h in enumerate(header) if h.startswith(name))


def check_top_classes(section: dict[str, Any], prediction: dict[str, Any]) -> None:
    """The "most probable classes" table is ``prediction["top"]``, row by row."""
    header, rows = _table(section, "class", "azimuth", "elevation", "probability")
    top = prediction["top"]
    assert len(rows) == len(top) >= 3
    for row, want in zip(rows, top, strict=True):
        assert int(row[_col(header, "class")]) == want["class"]
        assert_shows(row[_col(header, "azimuth")], want["azimuth_deg"], "top azimuth")
        assert_shows(row[_col(header, "elevation")], want["elevation_deg"], "top elevation")
        assert_shows(row[_col(header, "probability")], want["probability"], "top probability")
    assert top[0]["class"] == prediction["class"]


def check_channels(section: dict[str, Any], relevance: dict[str, float]) -> None:
    """The channel table is the channel relevance of ``results.json``, with its shares."""
    header, rows = _table(section, "channel", "relevance", "share")
    assert [r[_col(header, "channel")] for r in rows] == list(relevance)
    total = sum(abs(v) for v in relevance.values())
    for row in rows:
        name = row[_col(header, "channel")]
        assert_shows(row[_col(header, "relevance")], relevance[name], f"relevance of {name}")
        share = row[_col(header, "share")].removesuffix("%").strip()
        assert_shows(share, 100 * abs(relevance[name]) / total, f"share of {name}")


def check_page_json(sections: dict[str, dict[str, Any]], results: dict[str, Any]) -> None:
    """The page's machine-readable summary is ``results.json`` (the timing, written last,
    aside)."""
    (text,) = sections["results"]["pre"]
    shown = json.loads(text)
    shown.pop("timing_s", None)
    saved = {k: v for k, v in results.items() if k not in ("timing_s", "output_dir")}
    assert shown == saved


def check_demo_page(page: list[dict[str, Any]], results: dict[str, Any]) -> None:
    sections = _sections(page)
    rows = {r[0]: r[1] for r in _table(sections["summary"], "value")[1]}
    pred, truth = results["prediction"], results["truth"]
    shown = rows["predicted DOA"]
    assert_shows(_after("az", shown), pred["azimuth_deg"], "predicted azimuth")
    assert_shows(_after("el", shown), pred["elevation_deg"], "predicted elevation")
    assert int(_after("class", shown)) == pred["class"]
    assert_shows(_after("confidence", shown), pred["confidence"], "confidence")
    shown = rows["true DOA"]
    assert_shows(_after("az", shown), truth["azimuth_deg"], "true azimuth")
    assert_shows(_after("el", shown), truth["elevation_deg"], "true elevation")
    assert int(_after("class", shown)) == truth["class"]
    assert_shows(re.match(NUMBER, rows["angular error"]).group(0), results["angular_error_deg"],
                 "angular error")
    check_top_classes(sections["doa"], pred)
    check_channels(sections["channels"], results["relevance"]["channel_relevance"])
    check_page_json(sections, results)


def check_explain_page(page: list[dict[str, Any]], results: dict[str, Any]) -> None:
    sections = _sections(page)
    header, rows = _table(sections["timeline"], "window", "azimuth", "confidence")
    windows = results["windows"]
    detailed = {d["window"]: d for d in results["detailed"]}
    assert len(rows) == len(windows) == 5 and sorted(detailed) == [0, 4]
    # the windows differ (a row shifted or repeated would not pass)
    assert len({w["confidence"] for w in windows}) == len(windows)
    for row, w in zip(rows, windows, strict=True):
        assert int(row[_col(header, "window")]) == w["index"]
        assert_shows(row[_col(header, "start")], w["start_s"], "window start")
        assert_shows(row[_col(header, "azimuth")], w["azimuth_deg"], "window azimuth")
        assert_shows(row[_col(header, "elevation")], w["elevation_deg"], "window elevation")
        assert int(row[_col(header, "class")]) == w["class"]
        assert_shows(row[_col(header, "confidence")], w["confidence"], "window confidence")
        assert (row[_col(header, "detailed")] == "yes") == (w["index"] in detailed)
    for index, d in detailed.items():
        section = sections[f"window{index}"]
        check_top_classes(section, d["prediction"])
        check_channels(section, d["channel_relevance"])
        # the detailed window is the timeline's window
        assert d["prediction"]["class"] == windows[index]["class"]
    check_page_json(sections, results)


# kind -> (builder, title fragment, min images, min audio players, content check)
REPORTS = {
    "explain": (_explain_report, "audiolrp explain", 5, 2, check_explain_page),
    "demo": (_demo_report, "audiolrp demo", 4, 3, check_demo_page),
}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_report_renders_in_chromium(browser_paths, tiny_model, kind: str, tmp_path: Path) -> None:
    builder, title, min_images, min_audio, check_content = REPORTS[kind]
    report_path = builder(tmp_path, tiny_model)
    results = json.loads((report_path.parent / "results.json").read_text(encoding="utf-8"))
    browser, driver_path = browser_paths
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
        "--window-size=1280,1000", f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except Exception as err:  # noqa: BLE001 - a broken local install is a skip (CI: a failure)
        skip_or_fail(f"could not start headless Chromium: {str(err).splitlines()[0]}")
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)
        driver.get(report_path.resolve().as_uri())
        assert title in driver.title

        # the numbers on the page are those of results.json
        check_content(driver.execute_script(PAGE_SCRIPT), results)

        WebDriverWait(driver, 30).until(
            lambda d: d.execute_script(
                "return Array.from(document.images).every(i => i.complete)"
            )
        )
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.naturalWidth)"
        )
        assert len(widths) >= min_images  # (timeline,) DOA map, panels, channels, flipping
        assert all(w > 0 for w in widths), widths

        durations = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const audios = Array.from(document.querySelectorAll('audio'));
            Promise.all(audios.map(a => new Promise(resolve => {
                if (a.readyState >= 1) { resolve(a.duration); return; }
                a.addEventListener('loadedmetadata', () => resolve(a.duration), {once: true});
                a.addEventListener('error', () => resolve(-1), {once: true});
                a.load();
            }))).then(done);
            """
        )
        assert len(durations) >= min_audio  # input, (direct,) relevance-filtered audio
        for d in durations:
            assert d is not None and math.isfinite(d) and d > 0, durations
            assert abs(d - 1.0) < 0.01  # 1-s windows at 16 kHz

        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        assert severe == [], severe

        height = int(driver.execute_script("return document.body.scrollHeight"))
        driver.set_window_size(1280, min(max(height, 800), 12000))
        shot = tmp_path / "report.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        extra = os.environ.get("AUDIOLRP_SCREENSHOT_DIR")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(extra) / f"report-{kind}.png")
    finally:
        driver.quit()


def test_content_checks_catch_a_wrong_number() -> None:
    """The page checks are not vacuous: a page that shows another confidence, swaps two
    channels' relevance or drops a digit fails them (no browser needed)."""
    relevance = {"W mag": 2.516539, "X mag": -1.432057}
    good = {"id": "channels", "tables": [[["channel", "relevance", "share of |relevance|"],
                                          ["W mag", "2.517", "63.7 %"],
                                          ["X mag", "-1.432", "36.3 %"]]], "pre": []}
    check_channels(good, relevance)
    swapped = json.loads(json.dumps(good))
    swapped["tables"][0][1][1], swapped["tables"][0][2][1] = "-1.432", "2.517"
    with pytest.raises(AssertionError):
        check_channels(swapped, relevance)
    assert_shows("0.004", 0.004204, "confidence")
    for wrong in ("0.005", "0.04", "4.2e-03x"):
        with pytest.raises(AssertionError):
            assert_shows(wrong, 0.004204, "confidence")
    assert_shows("-111.9", -111.89, "azimuth")  # rounded in results.json, then on the page
    with pytest.raises(AssertionError):
        assert_shows("-111.8", -111.89, "azimuth")

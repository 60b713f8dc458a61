"""The HTML report in a real browser: headless Chromium driven by Selenium.

Loads reports written by the explain and demo pipelines from disk (file:// URL) and checks
that every image decodes (naturalWidth > 0), every audio element reports a finite duration
> 0 once its metadata has loaded, and the console shows no SEVERE entries. A screenshot is
saved into tmp_path (and into $AUDIOLRP_SCREENSHOT_DIR when that is set). Skips cleanly when
Chromium, chromedriver or selenium is missing.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

pytestmark = pytest.mark.browser

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _skip_or_fail(reason: str) -> None:
    """Skip on a developer machine; fail in CI (``CI`` set), where .ci/run installs Chromium."""
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


def _find_browser() -> tuple[str, str]:
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if browser is None or not Path(driver).exists():
        _skip_or_fail(
            "headless Chromium/chromedriver not installed "
            "(apt-get install chromium chromium-driver)"
        )
    return browser, driver


def _write_plane_wave(path: Path, seconds: float = 2.0, fs: int = 16000) -> None:
    """First-order AmbiX (ACN/SN3D) noise-burst plane wave from azimuth 60 deg, elevation 20."""
    rng = np.random.default_rng(0)
    n = int(seconds * fs)
    s = 0.2 * rng.standard_normal(n) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * np.arange(n) / fs))
    az, el = math.radians(60), math.radians(20)
    sig = np.stack([s, math.sin(az) * math.cos(el) * s, math.sin(el) * s,
                    math.cos(az) * math.cos(el) * s])
    sf.write(path, sig.T, fs, subtype="FLOAT")


@pytest.fixture(scope="module")
def browser_paths() -> tuple[str, str]:
    """(chromium, chromedriver) paths; skips before any work when the browser is missing."""
    paths = _find_browser()
    pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install .[dev])")
    return paths


@pytest.fixture(scope="module")
def tiny_model(browser_paths, tmp_path_factory) -> str:
    from audiolrp.models import build_model, save

    tmp = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    save(build_model("hoa", 1, size="tiny"), tmp / "tiny", feature="hoa", order=1)
    return str(tmp / "tiny.json")


def _explain_report(tmp: Path, model: str) -> Path:
    from audiolrp.report.pages import run_recording

    rec = tmp / "rec.wav"
    _write_plane_wave(rec)
    run_recording(rec, out_dir=tmp / "out", model=model, quiet=True)
    return tmp / "out" / "report.html"


def _demo_report(tmp: Path, model: str) -> Path:
    from audiolrp.report.pages import run_demo

    run_demo(tmp / "demo", model=model, seed=1, quiet=True, pixel_flipping_scenes=1)
    return tmp / "demo" / "report.html"


# kind -> (builder, title fragment, min images, min audio players)
REPORTS = {
    "explain": (_explain_report, "audiolrp explain", 5, 2),
    "demo": (_demo_report, "audiolrp demo", 4, 3),
}


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_report_renders_in_chromium(browser_paths, tiny_model, kind: str, tmp_path: Path) -> None:
    builder, title, min_images, min_audio = REPORTS[kind]
    report_path = builder(tmp_path, tiny_model)
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
    except Exception as err:  # noqa: BLE001 - a broken local install is a skip, not a failure
        _skip_or_fail(f"could not start headless Chromium: {str(err).splitlines()[0]}")
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)
        driver.get(report_path.resolve().as_uri())
        assert title in driver.title

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

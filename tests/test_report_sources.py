"""``sources.html`` of ``audiolrp analyze sources``: the report layer draws the finished result
(the shares table in percent, the sphere maps embedded, the settings)."""

from __future__ import annotations

import base64
import html
import json
import math
import re
import sys
from pathlib import Path

import pytest

from audiolrp.models import build_model, save
from audiolrp.report.sources import MEASURES


def _cells(page: str) -> list[list[str]]:
    """Every table row of ``page`` as its unescaped cells (header rows included)."""
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        rows.append([html.unescape(c) for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", tr, re.S)])
    return rows


def test_cli_analyze_sources_writes_the_page(tmp_path: Path, monkeypatch, capsys) -> None:
    """The inputs of test_multisource's end-to-end test (tiny sigmoid model, two scenes of two
    talkers, noise speech, threshold 0, one map), through the CLI."""
    from audiolrp.cli import main

    model = build_model("intensity", size="tiny", head="sigmoid")
    path = save(model, tmp_path / "m", feature="intensity",
                data_recipe={"datasets": [{"config": {"order": 1, "speech": "noise"}}]})
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", [
        "audiolrp", "analyze", "sources", "-m", str(path), "--n-examples", "2", "--sources",
        "2-2", "--corpus", "noise", "--threshold", "0", "--n-maps", "1", "--seed", "7",
        "-o", str(out), "--no-progress", "--json"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert int(exc.value.code or 0) == 0, capsys.readouterr().err
    result = json.loads((out / "results.json").read_text())
    page = (out / "sources.html").read_text()

    # the figure, embedded: the PNG bytes the analysis wrote
    assert len(result["figures"]) == 1
    png = Path(result["figures"][0]).read_bytes()
    uris = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert [base64.b64decode(u) for u in uris] == [png]

    # the shares table, parsed back: percent of the JSON's fractions to 0.1 %
    s = result["summary"]
    assert s["n_matched"] > 0
    rows = {r[0]: r[1:] for r in _cells(page) if r}
    keys = ("own", "energy_own", "others", "energy_others", "own_above_others")
    for kind, label in MEASURES:
        got = rows[label]
        assert len(got) == len(keys)
        for key, cell in zip(keys, got, strict=True):
            want = 100.0 * s[kind][key]
            assert math.isfinite(want) and float(cell) == pytest.approx(want, abs=0.1), key
    assert f"{s['n_matched']} of {s['n_detections']} detections" in page

    # the settings
    assert rows["model"] == [result["model"]]
    assert rows["seed"] == ["7"]
    assert rows["detector threshold"] == ["0"]
    assert rows["scenes"][0].startswith("2 (test split, 2-2 talkers")

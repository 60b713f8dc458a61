"""A conformer model file through the façade and the commands: the architecture in the file
decides the default LRP preset (``paper`` for a CRNN, ``attn_lrp`` for a conformer),
``--method`` overrides it; ``audiolrp explain``, ``locate`` and ``models.load(path).predict``
work on a tiny saved conformer, and the report's conservation is within the chosen rule's gap
(docs/lrp.md: CP-LRP conserves to float32 rounding, AttnLRP's softmax does not)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from audiolrp import lrp
from audiolrp.app.explainer import Explainer
from audiolrp.app.pipeline import DEFAULT_METHODS, default_method, relevance_method_name
from audiolrp.cli import app
from audiolrp.models import build_conformer, build_model, load, save

pytestmark = pytest.mark.usefixtures("one_thread")
runner = CliRunner()


def _write_plane_wave(path: Path, seconds: float = 2.3) -> None:
    """First-order noise plane wave from (60, 20) deg, ACN/SN3D, 16 kHz."""
    rng = np.random.default_rng(1)
    s = 0.2 * rng.standard_normal(int(round(seconds * 16000)))
    az, el = math.radians(60.0), math.radians(20.0)
    sig = np.stack([s, math.sin(az) * math.cos(el) * s, math.sin(el) * s,
                    math.cos(az) * math.cos(el) * s])
    sf.write(path, sig.T, 16000, subtype="FLOAT")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("conformer_app")
    torch.manual_seed(0)
    conf = save(build_conformer("hoa", 1, size="tiny").eval(), tmp / "conf", feature="hoa",
                order=1)
    crnn = save(build_model("hoa", 1, size="tiny").eval(), tmp / "crnn", feature="hoa", order=1)
    rec = tmp / "rec.wav"
    _write_plane_wave(rec)
    return {"conf": conf, "crnn": crnn, "rec": rec}


def test_the_file_architecture_decides_the_default_preset(files, tmp_path: Path) -> None:
    assert DEFAULT_METHODS == {"CRNN": "paper", "ConformerDOA": "attn_lrp"}
    conf, crnn = load(files["conf"]), load(files["crnn"])
    assert default_method(conf) == "attn_lrp" and default_method(crnn) == "paper"
    assert Explainer.load(conf).relevance_method == "LRP (attn_lrp composite)"
    assert Explainer.load(crnn).relevance_method == "LRP (paper composite)"
    assert Explainer.load(conf, method="cp-lrp").lrp_method == "cp-lrp"
    assert relevance_method_name("cp-lrp") == "LRP (cp_lrp composite)"
    assert relevance_method_name("gradient") == "gradient"
    assert lrp.parse_method("attn-lrp") == ("lrp", "attn_lrp")
    # a CRNN file written before architecture.class existed is explained with paper
    desc = json.loads(Path(files["crnn"]).read_text())
    del desc["architecture"]["class"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(desc))
    (tmp_path / "old.safetensors").write_bytes(
        Path(files["crnn"]).with_suffix(".safetensors").read_bytes())
    assert default_method(load(old)) == "paper"
    # Explainer.explain is the engine's attn_lrp (and cp_lrp when chosen)
    x = np.random.default_rng(0).standard_normal((2, 8, 50, 512)).astype(np.float32)
    for method, composite in ((None, "attn_lrp"), ("cp_lrp", "cp_lrp")):
        rel, pred = Explainer.load(conf, method=method).explain(x)
        ref = lrp.explain(conf.model, torch.from_numpy(x), composite=composite)
        np.testing.assert_allclose(rel, ref.relevance.numpy(), rtol=1e-5, atol=1e-7)
        assert pred.tolist() == conf.model.clip_probabilities(ref.logits).argmax(-1).tolist()


def _explain(files, out: Path, *extra: str) -> dict:
    res = runner.invoke(app, ["explain", str(files["rec"]), "--model", str(files["conf"]),
                              "--out", str(out), "--json", "--quiet", "--no-pixel-flipping",
                              *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_explain_locate_and_predict_a_conformer_file(files, tmp_path: Path) -> None:
    lm = load(files["conf"])
    data = _explain(files, tmp_path / "out")
    assert (tmp_path / "out" / "report.html").is_file()
    assert data["relevance_method"] == "LRP (attn_lrp composite)"
    detail = data["detailed"][0]
    assert detail["method"] == "LRP (attn_lrp composite)"
    # the windows' classes are the façade's predictions of the same windows
    from audiolrp.app.recordings import read_ambisonics, sliding_windows

    sig, _ = read_ambisonics(files["rec"])
    wins, _ = sliding_windows(sig, 16000, 8000)
    pred = lm.predict(wins)
    assert [w["class"] for w in data["windows"]] == pred.class_index.tolist()
    # the report's relevance is the engine's AttnLRP of that window's predicted class
    i = int(detail["window"])
    feats = torch.from_numpy(lm.input(wins[i : i + 1]).features.astype(np.float32))
    e = lrp.explain(lm.model, feats, target=torch.tensor([detail["explained_class"]]),
                    composite="attn_lrp")
    assert detail["total_relevance"] == pytest.approx(float(e.relevance.sum()), rel=1e-4)
    assert detail["explained_score"] == pytest.approx(float(e.start_relevance.sum()), rel=1e-5)
    # AttnLRP's softmax rule is not conservative (docs/lrp.md: median 1.2, max 377 times the
    # start relevance on small random conformers); this model: about -0.52
    gap = (detail["total_relevance"] - detail["explained_score"]) / abs(detail["explained_score"])
    assert math.isfinite(gap) and abs(gap) < 377
    # --method cp_lrp overrides the default: conserves to float32 rounding
    cp = _explain(files, tmp_path / "cp", "--method", "cp-lrp")
    assert cp["relevance_method"] == "LRP (cp_lrp composite)"
    d = cp["detailed"][0]
    assert abs(d["total_relevance"] - d["explained_score"]) < 1e-3 * abs(d["explained_score"])
    res = runner.invoke(app, ["explain", str(files["rec"]), "--model", str(files["conf"]),
                              "--out", str(tmp_path / "bad"), "--method", "attn"])
    assert res.exit_code == 2 and "unknown --method 'attn'" in res.output
    # locate: the same classes per window (1-s hop: windows 0, 1 and the tail)
    res = runner.invoke(app, ["locate", str(files["rec"]), "--model", str(files["conf"]),
                              "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    loc = json.loads(res.stdout)
    assert loc["n_windows"] == 3
    tail = sig.shape[1] - 16000
    clips = np.stack([sig[:, s : s + 16000] for s in (0, 16000, tail)])
    got = [w["class"] for w in loc["windows"]]
    assert got == lm.predict(clips).class_index.tolist()


def test_evaluate_a_conformer_file(files) -> None:
    res = runner.invoke(app, ["evaluate", "--model", str(files["conf"]), "--n-examples", "2",
                              "--json", "--no-progress", "--no-plot"])
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.stdout)["metrics"]
    assert metrics["n_examples"] == 2 and 0.0 <= metrics["accuracy"] <= 1.0

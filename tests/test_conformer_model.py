"""The conformer DOA model: the CRNN's input/output contract, build/save/load through
``models/files.py`` (CRNN files unchanged), and one LRP call on the full-size model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from audiolrp.errors import ModelFileError
from audiolrp.lrp import explain
from audiolrp.models import (
    CRNN,
    ConformerDOA,
    build_conformer,
    build_model,
    clip_probabilities,
    load,
    save,
)


def test_full_size_contract_and_explain():
    torch.manual_seed(0)
    m = build_conformer("hoa", 2).eval()
    assert m.n_in == 18 and m.n_classes == 425
    assert m.config["d_model"] == 64 and m.config["n_blocks"] == 2
    x = torch.randn(1, 18, 50, 512)
    with torch.no_grad():
        y = m(x)
    assert y.shape == (1, 50, 425)
    torch.testing.assert_close(m.clip_probabilities(y), clip_probabilities(y))
    e = explain(m, x, composite="cp_lrp")
    assert e.relevance.shape == x.shape and bool(torch.isfinite(e.relevance).all())
    # float32, whole model: CP-LRP conserves up to rounding and the front end's dead units
    rel = (e.conservation_error().abs() / e.start_relevance.abs()).item()
    assert rel < 1e-3, rel
    with pytest.raises(ValueError, match="expects input"):
        m(torch.randn(1, 18, 50, 256))


def test_positional_encoding_is_sinusoidal_and_not_saved():
    m = build_conformer("intensity", size="tiny")
    pe = m.blocks[0].attention.positions.pe
    assert pe.shape[1] == m.config["d_model"]
    torch.testing.assert_close(pe[3, 0], torch.sin(torch.tensor(3.0)))
    torch.testing.assert_close(pe[3, 1], torch.cos(torch.tensor(3.0)))
    assert not any(k.endswith(".pe") for k in m.state_dict())


def test_save_load_round_trip_and_crnn_files_unchanged(tmp_path: Path):
    torch.manual_seed(1)
    m = build_conformer("hoa", 1, size="tiny", norm_mean=torch.randn(8),
                        norm_std=torch.rand(8) + 0.5).eval()
    path = save(m, tmp_path / "conf", feature="hoa", order=1)
    desc = json.loads(path.read_text())
    assert desc["architecture"]["class"] == "ConformerDOA"
    loaded = load(path)
    assert isinstance(loaded.model, ConformerDOA)
    x = torch.randn(2, 8, 50, 512)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), m(x), rtol=0, atol=0)
    # a CRNN file records class "CRNN"; a file without the field is a CRNN too
    crnn = build_model("hoa", 1, size="tiny")
    p2 = save(crnn, tmp_path / "crnn", feature="hoa", order=1)
    d2 = json.loads(p2.read_text())
    assert d2["architecture"]["class"] == "CRNN"
    del d2["architecture"]["class"]
    p2.write_text(json.dumps(d2))
    assert isinstance(load(p2).model, CRNN)
    desc["architecture"]["class"] = "Nope"
    path.write_text(json.dumps(desc))
    with pytest.raises(ModelFileError, match="architecture"):
        load(path)


def test_one_convolution_front_end_shared_with_the_crnn():
    """Both architectures build their convolution blocks with crnn.conv_front_end: same
    modules, same state-dict keys and shapes (the shipped CRNN files' ``conv.*`` keys)."""
    from audiolrp.models import conformer as conformer_module
    from audiolrp.models import crnn as crnn_module

    assert conformer_module.conv_front_end is crnn_module.conv_front_end
    assert "conv_front_end" not in conformer_module.__dict__.get("__all__", [])
    crnn = build_model("hoa", 2, size="small")
    conf = build_conformer("hoa", 2, size="small")
    crnn_conv = {k: tuple(v.shape) for k, v in crnn.conv.state_dict().items()}
    conf_conv = {k: tuple(v.shape) for k, v in conf.conv.state_dict().items()}
    assert crnn_conv == conf_conv
    assert "0.weight" in crnn_conv and "9.running_var" in crnn_conv
    assert repr(crnn.conv) == repr(conf.conv)

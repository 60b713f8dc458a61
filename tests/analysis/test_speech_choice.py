"""Fresh install: the analyses that simulate scenes use the Debian corpus when it is installed,
the built-in eSpeak speech when it is not, what ``--corpus`` asks for otherwise, and say which
(`audiolrp.app.speech_choice`; `analyze replicate`, `analyze directions`, `analyze methods`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from audiolrp.app.speech_choice import choose_speech, debian_corpus_available
from audiolrp.errors import AudioLRPError

DEBIAN_RECIPE = {"config": {"order": 2, "speech": "debian", "direction_sampling": "grid"}}


@pytest.fixture
def no_debian(tmp_path, monkeypatch) -> Path:
    """A machine without the Debian corpus (an empty corpus folder)."""
    folder = tmp_path / "no-debian"
    folder.mkdir()
    monkeypatch.setenv("AUDIOLRP_DEBIAN_CORPUS", str(folder))
    return folder


def test_choice_without_and_with_the_corpus(no_debian) -> None:
    assert not debian_corpus_available()
    c = choose_speech(None, "debian")
    assert c.spec is None and c.name == "espeak" and "not installed" in c.reason
    assert "audiolrp corpus debian" in c.describe()
    with pytest.raises(AudioLRPError, match="corpus debian"):
        choose_speech("debian")
    (no_debian / "MANIFEST.tsv").write_text("")  # what a built corpus always has
    assert debian_corpus_available()
    c = choose_speech(None, "debian")
    assert (c.spec, c.name, c.reason) == ("debian", "debian", "the Debian corpus is installed")
    assert choose_speech("debian").reason == "asked for"


def test_choice_of_other_speech(no_debian, tmp_path) -> None:
    assert choose_speech("espeak").spec is None
    assert choose_speech("ESPEAK").name == "espeak"
    assert choose_speech("noise").spec == "noise"
    assert choose_speech(str(tmp_path)).spec == str(tmp_path)
    with pytest.raises(AudioLRPError, match="no such folder"):
        choose_speech(str(tmp_path / "missing"))
    assert choose_speech(None, None).spec is None  # a recipe of the built-in speech
    assert choose_speech(None, "noise").spec == "noise"
    assert choose_speech(None, "debian").as_dict() == {
        "spec": None, "name": "espeak",
        "reason": "the Debian corpus is not installed; `audiolrp corpus debian` adds it"}


@pytest.fixture(scope="module")
def debian_models(tmp_path_factory) -> dict[str, str]:
    """Tiny models whose recipe names the Debian corpus (as the shipped cards' test recipe)."""
    from audiolrp.models import build_model, save

    tmp = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    save(build_model("intensity", size="tiny"), tmp / "int", feature="intensity",
         data_recipe=DEBIAN_RECIPE)
    save(build_model("hoa", 1, size="tiny"), tmp / "hoa1", feature="hoa", order=1,
         data_recipe=DEBIAN_RECIPE)
    return {"int": str(tmp / "int.json"), "hoa1": str(tmp / "hoa1.json")}


@pytest.mark.usefixtures("one_thread")
def test_replicate_runs_without_the_corpus_and_says_so(no_debian, debian_models,
                                                       tmp_path) -> None:
    from audiolrp.cli.app import app

    res = CliRunner().invoke(app, [
        "analyze", "replicate", "--intensity-model", debian_models["int"], "--hoa-models",
        debian_models["hoa1"], "--out", str(tmp_path / "r"), "--stages", "aural",
        "--n-aural", "2", "--batch-size", "2"])
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["speech"]["name"] == "espeak" and "not installed" in \
        results["speech"]["reason"]
    assert results["findings"]["direct_sound"]["hoa1.json"]["scene_config"]["speech"] is None
    assert "Speech: `espeak` (the Debian corpus is not installed" in \
        (tmp_path / "r" / "replication.md").read_text()
    assert "speech: espeak" in res.stderr  # progress names it too
    # asking for the missing corpus is a one-line error
    res = CliRunner().invoke(app, [
        "analyze", "replicate", "--intensity-model", debian_models["int"], "--hoa-models", "",
        "--out", str(tmp_path / "r2"), "--stages", "aural", "--corpus", "debian"])
    assert res.exit_code == 2 and "corpus debian" in res.output


@pytest.mark.usefixtures("one_thread")
def test_directions_runs_without_the_corpus(no_debian, debian_models, tmp_path) -> None:
    from audiolrp.cli.app import app

    out = tmp_path / "d"
    res = CliRunner().invoke(app, [
        "analyze", "directions", "-m", debian_models["int"], "--n-examples", "2",
        "--n-maps", "0", "--n-boot", "20", "-o", str(out), "--json", "--no-progress"])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "directions.json").read_text())
    assert record["test_data"]["speech"]["name"] == "espeak"
    assert record["test_data"]["scene_config"]["speech"] is None


@pytest.mark.usefixtures("one_thread")
def test_methods_simulates_without_the_corpus(no_debian, debian_models) -> None:
    from audiolrp.app.methods import simulated_examples
    from audiolrp.models import load

    x, y, desc = simulated_examples(load(debian_models["int"]), 2, 0)
    assert x.shape[0] == 2 and y.shape == (2,)
    assert desc["speech"]["name"] == "espeak" and desc["scene_config"]["speech"] is None

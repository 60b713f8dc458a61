"""Speech corpora by name (issue 22, item 4): the registry behind ``open_corpus``, ``--corpus``
and its errors; a toy corpus is one registration."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.simulation.corpora import (
    CORPORA,
    corpus_choices,
    corpus_entry,
    corpus_help,
    corpus_names,
    register_corpus,
    unregister_corpus,
)
from audiolrp.simulation.scenes import NoiseCorpus


class ToyCorpus(NoiseCorpus):
    """The noise stand-in under another name."""

    name = "toy"

    def __init__(self, seed: int) -> None:
        self.seed = seed


@pytest.fixture
def toy() -> Iterator[None]:
    register_corpus("toy", "a test corpus")(ToyCorpus)
    register_corpus("toy-missing", "never installed",
                    missing=lambda: "toy-missing is not installed; run `make toy`")(ToyCorpus)
    try:
        yield
    finally:
        unregister_corpus("toy")
        unregister_corpus("toy-missing")


def test_the_built_in_corpora_are_registered() -> None:
    assert corpus_names()[:3] == ("espeak", "debian", "noise")
    assert corpus_choices().startswith("espeak, debian, noise") and corpus_choices().endswith(
        " or a folder of speech files")
    assert corpus_help(default="espeak") == (
        f"Speech: {corpus_choices()} (default: espeak).")
    assert corpus_entry(" Debian ") is CORPORA["debian"] and CORPORA["debian"].needs_install
    assert corpus_entry("some/folder") is None and corpus_entry(None) is None
    assert not CORPORA["noise"].is_speech
    with pytest.raises(ValueError, match="needs a name"):
        register_corpus("a b", "spaces")


def test_open_corpus_by_name_default_and_folder(tmp_path) -> None:
    from audiolrp.simulation.speech import EspeakCorpus, open_corpus

    assert isinstance(open_corpus(None), EspeakCorpus)
    assert isinstance(open_corpus("NOISE"), NoiseCorpus)
    with pytest.raises(DatasetError, match="does not exist; pass espeak, debian, noise"):
        open_corpus(tmp_path / "nope")


def test_a_toy_corpus_is_one_registration(toy, monkeypatch) -> None:
    """open_corpus, the scenes' corpus cache, a simulated scene, the analyses' speech choice,
    the help text and the errors all take the registered toy."""
    from audiolrp.app.speech_choice import choose_speech
    from audiolrp.simulation.scenes import SceneConfig, get_corpus, simulate_scene
    from audiolrp.simulation.speech import open_corpus

    corpus = open_corpus(" Toy ", seed=4)
    assert isinstance(corpus, ToyCorpus) and corpus.seed == 4
    assert "toy" in corpus_choices() and "toy" in corpus_help()
    assert isinstance(get_corpus("toy", 4), ToyCorpus)
    scene = simulate_scene(SceneConfig(order=1, speech="toy", speech_lead_in_s=0.2), 3)
    assert scene.mixture.shape == (4, 16000) and np.isfinite(scene.mixture).all()
    choice = choose_speech("toy")
    assert (choice.spec, choice.name, choice.reason) == ("toy", "toy", "asked for")
    with pytest.raises(DatasetError, match=r"toy-missing is not installed; run `make toy`"):
        open_corpus("toy-missing")
    with pytest.raises(AudioLRPError, match="--corpus toy-missing: toy-missing is not installed"):
        choose_speech("toy-missing")
    with pytest.raises(AudioLRPError, match="no such folder; pass espeak, debian, noise, .*toy"):
        choose_speech("no/such/folder")


def test_the_cli_help_lists_the_registered_corpora() -> None:
    from typer.testing import CliRunner

    from audiolrp.cli import app

    for cmd in (["analyze", "directions", "--help"], ["analyze", "replicate", "--help"]):
        res = CliRunner().invoke(app, cmd, env={"COLUMNS": "300"})
        assert res.exit_code == 0, res.output
        assert corpus_choices() in " ".join(res.output.split()), cmd

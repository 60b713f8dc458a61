"""The shipped cards' export policy (:func:`audiolrp.training.export.export_card_model`): the one
card test set, its extra test sets in card order, the commands that reproduce them, and shipped
files without the folders of the machine a model was trained on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from audiolrp.models import DirectionRefinement, build_model, list_models, load, save
from audiolrp.training.cards import without_machine_paths
from audiolrp.training.export import (
    CARD_TEST_EXAMPLES,
    CARD_TEST_RECIPE,
    CARD_TEST_SEED,
    card_extra_test_sets,
    card_test_recipe,
    evaluate_command,
    export_card_model,
)

pytestmark = pytest.mark.usefixtures("one_thread")

#: The extra test sets of the shipped cards, written out (not computed by the library).
EXPECTED_EXTRA_SETS = [
    ("off-grid directions (Debian test speakers)", {"direction_sampling": "uniform"}, "--off-grid"),
    (
        "off-grid, 10-20 dB SNR",
        {"direction_sampling": "uniform", "snr_db": [10.0, 20.0]},
        "--off-grid --snr-db 10,20",
    ),
    (
        "off-grid, 1-4 pink-noise point sources",
        {
            "direction_sampling": "uniform",
            "n_point_noise": [1, 4],
            "point_noise_share": [0.3, 1.0],
            "point_noise_kind": "pink",
        },
        "--off-grid --point-noise 1,4",
    ),
    (
        "talker band-limited to 4 kHz",
        {"speech_lowpass_hz": [4000.0, 4000.0]},
        "--speech-lowpass 4000,4000",
    ),
]
ABSOLUTE = re.compile(r"(?<![\w.~:/-])/(?:work|root|tmp|home)/")


def test_card_policy_constants() -> None:
    assert (CARD_TEST_SEED, CARD_TEST_EXAMPLES) == (99, 500)
    sets = card_extra_test_sets()
    assert [(k, v) for k, v in sets.items()] == [(n, o) for n, o, _ in EXPECTED_EXTRA_SETS]
    for name, overrides, flags in EXPECTED_EXTRA_SETS:
        assert evaluate_command("m", overrides) == f"audiolrp evaluate --model m {flags}", name
    assert evaluate_command("m") == "audiolrp evaluate --model m"
    tilt = {"speech": "espeak", "speech_tilt_db_per_octave": [-6.0, -6.0]}
    assert evaluate_command("m", tilt) == (
        "audiolrp evaluate --model m --corpus espeak --speech-tilt=-6,-6"
    )
    # fresh copies: a caller's change never reaches the policy
    recipe = card_test_recipe()
    recipe["config"]["snr_db"] = [1.0, 2.0]
    card_extra_test_sets()["off-grid, 10-20 dB SNR"]["snr_db"][0] = 0.0
    assert CARD_TEST_RECIPE["config"]["snr_db"] == [0.0, 30.0]
    assert card_extra_test_sets()["off-grid, 10-20 dB SNR"]["snr_db"] == [10.0, 20.0]


@pytest.mark.parametrize("name", ["intensity", "hoa1", "hoa2", "hoa3", "hoa4"])
def test_shipped_cards_follow_the_policy(name: str) -> None:
    """Every shipped card was made by this policy: its test set is the card recipe, seed and
    size, and its extra sets are the policy's first ones, with the policy's commands."""
    assert name in list_models()
    ev = load(name).config["evaluation"]
    assert ev["recipe"] == CARD_TEST_RECIPE
    assert (ev["seed"], ev["n_examples"]) == (CARD_TEST_SEED, CARD_TEST_EXAMPLES)
    assert ev["command"] == f"audiolrp corpus debian && audiolrp evaluate --model {name}"
    extras = ev["extra_test_sets"]
    assert len(extras) >= 3  # the band-limited talker came later (hoa3 stage 14 on)
    policy = list(card_extra_test_sets().items())[: len(extras)]
    for extra, (set_name, overrides) in zip(extras, policy, strict=True):
        assert (extra["name"], extra["overrides"]) == (set_name, overrides)
        assert extra["command"] == evaluate_command(name, overrides)
        assert extra["metrics"]["n_examples"] == CARD_TEST_EXAMPLES


def test_without_machine_paths() -> None:
    value = {
        "command": "audiolrp train /home/a/data/x,/home/a/data/y /tmp/runs/r --init-from=/w/m.json",
        "keep": ["runs/r/model.json", "~/.cache/audiolrp/debian", "https://example.org/a/b", 3],
        "pair": ("/root/.cache/audiolrp/debian-speech", None),
    }
    assert without_machine_paths(value) == {
        "command": "audiolrp train x,y r --init-from=m.json",
        "keep": ["runs/r/model.json", "~/.cache/audiolrp/debian", "https://example.org/a/b", 3],
        "pair": ("debian-speech", None),
    }


def test_export_card_model_writes_the_policy(tmp_path: Path) -> None:
    """A tiny model exported by the policy (2 scenes per test set; the noise stand-in instead of
    the Debian speech) gets the card test set and every extra set, and no machine path."""
    torch.manual_seed(0)
    run = tmp_path / "run"
    save(
        build_model("intensity", size="tiny"),
        run / "model",
        feature="intensity",
        data_recipe={"dataset": str(run / "data"), "config": {"order": 1, "speech": "noise"}},
        training={"command": f"audiolrp train {run / 'data'} {run} --epochs 1", "config": {}},
    )
    recipe = card_test_recipe()
    recipe["config"]["speech"] = "noise"
    files = export_card_model(run / "model.json", "tiny1", tmp_path / "out", eval_examples=2,
                              eval_recipe=recipe, batch_size=2, refinement_scenes=3)
    assert set(files) == {"json", "weights", "card", "plot"}
    assert all(Path(p).is_file() for p in files.values())
    cfg = json.loads(files["json"].read_text())
    # the refinement is chosen (on 3 validation scenes here) before the card is evaluated,
    # so the card's refined errors are those of the refinement the model ships with
    chosen = cfg["direction_refinement"]["chosen_on"]
    assert (chosen["scenes"], chosen["split"]) == (3, "val")
    refined = DirectionRefinement.from_config(cfg["direction_refinement"])
    assert refined == DirectionRefinement(cfg["direction_refinement"]["radius_deg"],
                                          cfg["direction_refinement"]["power"],
                                          cfg["direction_refinement"]["views"])
    assert load(files["json"]).refinement == refined
    ev = cfg["evaluation"]
    assert (ev["seed"], ev["n_examples"], ev["recipe"]) == (CARD_TEST_SEED, 2, recipe)
    assert ev["command"] == "audiolrp evaluate --model tiny1"
    assert len(ev["predictions"]) == 2
    extras = ev["extra_test_sets"]
    assert [(e["name"], e["overrides"]) for e in extras] == [
        (n, o) for n, o, _ in EXPECTED_EXTRA_SETS
    ]
    assert [e["command"] for e in extras] == [
        f"audiolrp evaluate --model tiny1 {flags}" for _, _, flags in EXPECTED_EXTRA_SETS
    ]
    assert all(e["metrics"]["n_examples"] == 2 for e in extras)
    card = files["card"].read_text()
    for name, _, flags in EXPECTED_EXTRA_SETS:
        assert f"| {name} |" in card and f"`audiolrp evaluate --model tiny1 {flags}`" in card
    for text in (files["json"].read_text(), card):
        assert str(tmp_path) not in text and not ABSOLUTE.search(text)
    assert cfg["training"]["command"] == "audiolrp train data run --epochs 1"
    assert cfg["data_recipe"]["dataset"] == "data"
    # the source run is untouched: only the export folder was written
    assert sorted(p.name for p in run.iterdir()) == ["model.json", "model.safetensors"]

"""Model cards: the shipped cards are exactly what :func:`model_card_markdown` renders from
their models' JSON, so moving or editing the renderer cannot change a card unnoticed."""

from __future__ import annotations

import pytest

from audiolrp.models import PRETRAINED_DIR, load
from audiolrp.training import model_card_markdown


@pytest.mark.parametrize("name", ["intensity", "hoa2"])
def test_shipped_card_is_the_rendered_card(name: str) -> None:
    card = (PRETRAINED_DIR / f"{name}.md").read_text(encoding="utf-8")
    assert model_card_markdown(name, load(name).config) == card


def test_card_commands_hide_machine_paths() -> None:
    cfg = {
        "training": {
            "command": "audiolrp train /home/someone/data/debian runs/x --epochs 2",
            "config": {"batch_size": 8, "lr": 0.001},
            "hardware": {},
        }
    }
    card = model_card_markdown("t", cfg)
    assert "/home/someone" not in card and "`audiolrp train debian runs/x --epochs 2`" in card

"""Canonisation of an activation followed by max-pooling (``lrp/canonizers.py``): the pooling
runs first where the activation is strictly increasing, and the explanation does not change."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from audiolrp.lrp import core as lrp_core
from audiolrp.lrp import explain
from audiolrp.lrp.canonizers import find_activation_pool_pairs, strictly_increasing
from audiolrp.models import CRNN


@pytest.mark.parametrize(
    "module,expected",
    [
        (nn.ELU(), True),
        (nn.ELU(alpha=0.0), False),
        (nn.LeakyReLU(0.1), True),
        (nn.LeakyReLU(0.0), False),
        (nn.Tanh(), True),
        (nn.ReLU(), False),  # ties among zeros: the winner would depend on the order
        (nn.ELU(inplace=True), False),
    ],
)
def test_strictly_increasing(module, expected):
    assert strictly_increasing(module) is expected


def test_pairs_of_the_crnn_and_of_other_stacks():
    m = CRNN(3, n_filters=4, pool_sizes=(2, 2), n_bins=8, lstm_hidden=3, n_dense=5,
             n_classes=7)
    pairs = find_activation_pool_pairs(m)
    assert [(type(a), type(p)) for a, p in pairs.items()] == [(nn.ELU, nn.MaxPool2d)] * 2
    seq = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(2, 2, 1), nn.ELU(), nn.MaxPool2d(2, return_indices=True))
    assert find_activation_pool_pairs(seq) == {}


def _relevance(model: nn.Module, x: torch.Tensor, swap: bool, monkeypatch) -> torch.Tensor:
    with monkeypatch.context() as mp:
        if not swap:
            mp.setattr(lrp_core, "find_activation_pool_pairs", lambda model: {})
        return explain(model, x, target=1).relevance


@pytest.mark.parametrize("act", [nn.ELU(), nn.LeakyReLU(0.2), nn.Tanh()])
def test_pooling_first_gives_the_same_relevance(act, monkeypatch):
    """Same relevance (float64) with and without the canonisation, for each activation."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), act, nn.MaxPool2d((1, 2)),
        nn.Conv2d(4, 3, 3, padding=1), nn.Flatten(1), nn.Linear(3 * 5 * 4, 6),
    ).double().eval()
    x = torch.randn(3, 2, 5, 8, dtype=torch.float64)

    def as_frames(out_model: nn.Module) -> nn.Module:
        class Frames(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = out_model

            def forward(self, v: torch.Tensor) -> torch.Tensor:
                return self.net(v).unsqueeze(1)

        return Frames()

    wrapped = as_frames(model)
    a = _relevance(wrapped, x, True, monkeypatch)
    b = _relevance(wrapped, x, False, monkeypatch)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert float(a.abs().sum()) > 0


def test_activation_runs_after_the_pooling(monkeypatch):
    """With the canonisation the activation sees the pooled (fewer) values."""
    seen: list[int] = []

    class CountingELU(nn.ELU):
        def forward(self, v: torch.Tensor) -> torch.Tensor:
            seen.append(v.numel())
            return super().forward(v)

    class Frames(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), CountingELU(),
                                     nn.MaxPool2d((1, 4)), nn.Flatten(1), nn.Linear(2 * 3 * 2, 4))

        def forward(self, v: torch.Tensor) -> torch.Tensor:
            return self.net(v).unsqueeze(1)

    m = Frames().double().eval()
    x = torch.randn(1, 1, 3, 8, dtype=torch.float64)
    explain(m, x, target=0)
    assert seen == [2 * 3 * 2]  # pooled: 2 channels x 3 frames x 2 bins (not 2 x 3 x 8)
    seen.clear()
    _relevance(m, x, False, monkeypatch)
    assert seen == [2 * 3 * 8]

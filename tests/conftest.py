"""Shared test set-up: the test process draws headless (the library never picks a backend),
and the ``one_thread`` fixture that modules doing heavy torch work apply to all their tests."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture
def one_thread():
    """2 shared CPU cores in CI: one intra-op thread avoids oversubscription and keeps
    results deterministic."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

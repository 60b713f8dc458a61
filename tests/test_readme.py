"""The README's Python example runs as written, against the shipped ``hoa2`` model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_example_runs() -> None:
    blocks = _python_blocks()
    assert blocks, "README.md has no ```python block"
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102
    ns = namespace
    pred, x, rel, w_rel, scene = ns["pred"], ns["x"], ns["relevance"], ns["w_rel"], ns["scene"]
    assert tuple(x.shape) == (1, 18, 50, 512)
    assert rel.shape == x.shape and np.all(np.isfinite(rel))
    assert ns["predicted"].tolist() == pred.class_index.tolist()
    # the README's clip is 40 dB below the training level: the same answer as at that level
    again = ns["lm"].predict(scene.mixture[None])
    assert again.class_index.tolist() == pred.class_index.tolist()
    np.testing.assert_allclose(again.direction, pred.direction, atol=1e-6)
    assert np.linalg.norm(pred.direction[0]) == pytest.approx(1.0)
    assert w_rel.shape == scene.mixture[0].shape and np.all(np.isfinite(w_rel))

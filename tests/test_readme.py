"""The README's Python example runs as written, against the shipped ``hoa2`` model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_example_runs() -> None:
    blocks = _python_blocks()
    assert blocks, "README.md has no ```python block"
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102
    exp, x, w_rel, scene = namespace["exp"], namespace["x"], namespace["w_rel"], namespace["scene"]
    assert tuple(x.shape) == (1, 18, 50, 512)
    assert exp.relevance.shape == x.shape
    assert abs(float(exp.conservation_error())) < 1e-3
    assert w_rel.shape == scene.mixture[0].shape and np.all(np.isfinite(w_rel))

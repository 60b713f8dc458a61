"""A dataset's recipe from the options of `audiolrp simulate`: every option checked (one-line
errors) before anything is written, the scene settings of ``--config`` merged, and the
summary of a finalised dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audiolrp.data.datasets import SPEC_NAME, DatasetSpec, finalize_dataset
from audiolrp.errors import AudioLRPError
from audiolrp.simulation.corpora import DEFAULT_CORPUS, corpus_entry
from audiolrp.simulation.microphones import ARRAY_MAX_ORDER, MIC_NAMES
from audiolrp.simulation.scenes import SceneConfig, check_scene_order


def read_config_overrides(config: Path | None) -> dict[str, Any]:
    """The SceneConfig fields of a ``--config`` JSON file (``{}`` without one)."""
    if config is None:
        return {}
    try:
        overrides = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise AudioLRPError(f"--config {config} is not a readable JSON file ({err})") from None
    if not isinstance(overrides, dict):
        raise AudioLRPError(f"--config {config} must hold a JSON object of fields")
    return overrides


def dataset_spec(
    *, counts: dict[str, int], order: int, seed: int, shard_size: int, corpus: str,
    config: Path | None, mic: str | None, dtype: str, direct_splits: str, all_parts: bool,
) -> DatasetSpec:
    """The recipe of a dataset (:class:`~audiolrp.data.spec.DatasetSpec`) from the options of
    ``audiolrp simulate``: counts per split, HOA order, seed, shard size, speech corpus (a
    registered name or a folder), ``--config`` overrides, microphone, dtype and the splits
    storing direct sound."""
    if min(counts.values()) < 0 or sum(counts.values()) == 0:
        raise AudioLRPError(
            f"--n-train {counts['train']}, --n-val {counts['val']}, --n-test {counts['test']}: "
            "nothing to simulate; pass counts >= 0 with at least one above 0"
        )
    check_scene_order(order, "--order")
    overrides = read_config_overrides(config)
    overrides["order"] = order
    entry = corpus_entry(corpus)
    overrides["speech"] = None if entry is not None and entry.name == DEFAULT_CORPUS else corpus
    if mic is not None:
        if mic not in MIC_NAMES:
            raise AudioLRPError(f"--mic {mic!r} is unknown: use {', '.join(MIC_NAMES)}")
        if order > ARRAY_MAX_ORDER.get(mic, order):
            raise AudioLRPError(
                f"--mic {mic} records HOA orders 0..{ARRAY_MAX_ORDER[mic]}: pass --order "
                f"{ARRAY_MAX_ORDER[mic]} or lower"
            )
        overrides["mic"] = mic
    cfg = SceneConfig.from_dict({**SceneConfig().to_dict(), **overrides})
    return DatasetSpec(
        config=cfg,
        seed=seed,
        counts=dict(counts),
        shard_size=shard_size,
        dtype=dtype,
        direct_splits=tuple(s.strip() for s in direct_splits.split(",") if s.strip()),
        all_parts=all_parts,
    )


def finalize_summary(out_dir: Path) -> dict[str, Any]:
    """Verify the shards of ``out_dir``, write ``manifest.json`` and summarise it."""
    manifest = finalize_dataset(out_dir)
    return {
        "out_dir": str(out_dir),
        "counts": manifest["counts"],
        "shards_total": len(manifest["shards"]),
        "bytes": manifest["total_bytes"],
        "manifest": str(out_dir / "manifest.json"),
        "spec": str(out_dir / SPEC_NAME),
    }


__all__ = ["dataset_spec", "finalize_summary", "read_config_overrides"]

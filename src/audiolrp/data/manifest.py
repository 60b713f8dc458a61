"""Checksums and ``manifest.json``: verify every shard, merge the train statistics, write,
read and re-verify the manifest (format in :mod:`audiolrp.data`)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import h5py

from audiolrp.data.spec import FORMAT_VERSION, MANIFEST_NAME, SPEC_NAME, DatasetSpec, shard_name
from audiolrp.errors import DatasetError
from audiolrp.io import write_json
from audiolrp.signal.features import HoaStatsAccumulator
from audiolrp.simulation.scenes import SPLITS, get_corpus


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def shard_is_complete(root: Path, split: str, index: int) -> bool:
    """True if the shard and its checksum sidecar exist and the checksum matches."""
    path = root / shard_name(split, index)
    side = path.with_name(path.name + ".sha256")
    if not (path.is_file() and side.is_file()):
        return False
    try:
        return side.read_text(encoding="utf-8").strip() == sha256_file(path)
    except OSError:
        return False


def finalize_dataset(root: str | os.PathLike[str], corpus: Any = None) -> dict[str, Any]:
    """Verify every shard, merge the train statistics and write ``manifest.json``.

    Raises
    ------
    DatasetError
        If the recipe is missing or a shard is missing or fails its checksum.
    """

    root = Path(root)
    spec_path = root / SPEC_NAME
    if not spec_path.is_file():
        raise DatasetError(f"{root} has no {SPEC_NAME}; run `audiolrp simulate {root}` first")
    try:
        spec = DatasetSpec.from_dict(json.loads(spec_path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as err:
        raise DatasetError(f"{spec_path} is not valid JSON ({err}); delete the folder") from None
    shards: list[dict[str, Any]] = []
    missing = [shard_name(*sid) for sid in spec.shard_ids() if not shard_is_complete(root, *sid)]
    if missing:
        raise DatasetError(
            f"{len(missing)} shard(s) missing or corrupt (first: {missing[0]}); run "
            f"`audiolrp simulate {root}` again to (re)generate them"
        )
    acc = HoaStatsAccumulator(spec.config.order)
    for split, index in spec.shard_ids():
        path = root / shard_name(split, index)
        digest = path.with_name(path.name + ".sha256").read_text(encoding="utf-8").strip()
        shards.append(
            {
                "file": path.name,
                "split": split,
                "index": index,
                "n_examples": len(spec.shard_range(split, index)),
                "sha256": digest,
                "bytes": path.stat().st_size,
            }
        )
        if split == "train":
            with h5py.File(path, "r") as f:
                acc.merge(HoaStatsAccumulator.from_arrays(f["hoa_sums"][()]))
    norm: dict[str, Any] = {"intensity": None, "hoa": {}}
    if spec.counts["train"] > 0:
        norm["hoa"] = {
            str(o): acc.stats(o).to_dict() for o in range(spec.config.order + 1)
        }
    corpus = corpus if corpus is not None else get_corpus(
        spec.config.speech, spec.config.corpus_seed
    )
    try:
        corpus_desc = corpus.describe()
        json.dumps(corpus_desc)
    except Exception as err:  # noqa: BLE001 - description is informative only
        corpus_desc = {"name": str(getattr(corpus, "name", "?")), "describe_error": repr(err)}
    manifest = {
        "format": "audiolrp-scenes",
        "version": FORMAT_VERSION,
        **spec.to_dict(),
        "order": spec.config.order,
        "n_train": spec.counts["train"],
        "n_val": spec.counts["val"],
        "n_test": spec.counts["test"],
        "parts": {s: list(spec.parts(s)) for s in SPLITS},
        "corpus": corpus_desc,
        "normalization": norm,
        "shards": shards,
        "total_bytes": sum(s["bytes"] for s in shards),
    }
    write_json(root / MANIFEST_NAME, manifest, sort_keys=True, indent=1, default=None)
    return manifest


def verify_dataset(root: str | os.PathLike[str]) -> None:
    """Check every shard listed in the manifest against its sha256 (raises DatasetError)."""
    manifest = load_manifest(root)
    for s in manifest["shards"]:
        path = Path(root) / s["file"]
        if not path.is_file() or sha256_file(path) != s["sha256"]:
            raise DatasetError(
                f"shard {path} is missing or corrupt (sha256 mismatch); re-run "
                f"`audiolrp simulate {root}` to regenerate it"
            )


def load_manifest(root: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and minimally validate ``manifest.json`` (DatasetError otherwise)."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(
            f"{path} not found; create the dataset with `audiolrp simulate {root}` (or "
            "`--finalize` after a --shard run)"
        )
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"{path} is not valid JSON ({err}); re-run --finalize") from None
    for key in ("shards", "config", "normalization", "counts"):
        if key not in m:
            raise DatasetError(f"{path} lacks {key!r}; re-run `audiolrp simulate --finalize`")
    return m


__all__ = [
    "finalize_dataset",
    "load_manifest",
    "sha256_file",
    "shard_is_complete",
    "verify_dataset",
]

"""Multi-source datasets on disk: the single-source folder format plus each scene's talkers.

A multi-source dataset is an ordinary dataset folder (:mod:`audiolrp.data`: ``dataset_spec.json``,
shards, ``manifest.json``; every single-source reader works on it and sees talker 1 as the
label) whose recipe carries the :class:`~audiolrp.simulation.multisource.MultiSourceConfig`
under ``config.extra["multisource"]``. That key is part of the spec's fingerprint, so a
multi-source recipe never matches a single-source one, while single-source recipes (no key)
keep their fingerprints and files bit for bit (they are still written by
:func:`audiolrp.data.shards.generate_shard`).

Scene ``i`` of a split is ``simulate_multisource_scene(config, multi, scene_seed(seed, split,
i), split=split)``. Besides the single-source datasets each shard holds

``n_sources`` (n,) int64; ``source_label`` (n, 3) int64 (-1 past ``n_sources``);
``source_azimuth_rad``, ``source_elevation_rad`` (n, 3) float64 (NaN past ``n_sources``);
for the splits in ``direct_splits`` also ``source_direct`` (n, 3, (N+1)^2, 16000) (zeros past
``n_sources``) and, with ``all_parts``, ``source_reverberant``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from audiolrp.constants import CLIP_SAMPLES
from audiolrp.data.dataset import FeatureDataset
from audiolrp.data.manifest import finalize_dataset, sha256_file, shard_is_complete
from audiolrp.data.shards import generate_in_workers, prepare_root
from audiolrp.data.spec import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    DatasetSpec,
    scene_seed,
    shard_name,
)
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.io import atomic_path, atomic_write_text
from audiolrp.signal.features import HoaStatsAccumulator
from audiolrp.simulation.multisource import (
    MAX_SOURCES,
    MultiSourceConfig,
    check_multisource_config,
    simulate_multisource_scene,
)
from audiolrp.simulation.scenes import SceneConfig, get_corpus

#: Key of the multi-source settings in ``SceneConfig.extra``.
MULTISOURCE_KEY: str = "multisource"
_META_COLUMNS: tuple[str, ...] = (
    "azimuth_rad", "elevation_rad", "snr_db", "rt60_s", "distance_m", "drr_db",
)


def multisource_spec(spec: DatasetSpec, multi: MultiSourceConfig) -> DatasetSpec:
    """``spec`` with ``multi`` stored in its scene config's ``extra`` (a new fingerprint)."""
    check_multisource_config(spec.config, multi)
    d = spec.to_dict()
    d["config"]["extra"] = {**d["config"].get("extra", {}), MULTISOURCE_KEY: multi.to_dict()}
    return DatasetSpec.from_dict(d)


def multisource_config_of(config: SceneConfig) -> MultiSourceConfig | None:
    """The multi-source settings of a recipe's scene config, ``None`` for single-source."""
    d = (config.extra or {}).get(MULTISOURCE_KEY)
    return None if d is None else MultiSourceConfig.from_dict(dict(d))


def _scene_config(config: SceneConfig) -> SceneConfig:
    """The config without the multi-source key (what each talker-1 scene is drawn from)."""
    d = config.to_dict()
    d["extra"] = {k: v for k, v in (config.extra or {}).items() if k != MULTISOURCE_KEY}
    return SceneConfig.from_dict(d)


def generate_multisource_shard(
    root: str | os.PathLike[str], spec: DatasetSpec, split: str, index: int, corpus: Any = None
) -> dict[str, Any]:
    """Simulate and write one multi-source shard (pure function of ``(spec, split, index)``)."""
    root = Path(root)
    multi = multisource_config_of(spec.config)
    if multi is None:
        raise AudioLRPError("the dataset recipe has no multi-source settings")
    rng_idx = spec.shard_range(split, index)
    if len(rng_idx) == 0:
        raise AudioLRPError(f"shard {split}/{index} is empty for counts {spec.counts}")
    cfg = _scene_config(spec.config)
    corpus = corpus if corpus is not None else get_corpus(cfg.speech, cfg.corpus_seed)
    parts = spec.parts(split)
    n, k = len(rng_idx), cfg.n_sh
    dtype = np.dtype(spec.dtype)
    audio = {p: np.zeros((n, k, CLIP_SAMPLES), dtype) for p in parts}
    per_source = ["source_direct"] if "direct" in parts else []
    if spec.all_parts and "direct" in parts:
        per_source.append("source_reverberant")
    src_audio = {p: np.zeros((n, MAX_SOURCES, k, CLIP_SAMPLES), dtype) for p in per_source}
    labels = np.zeros(n, np.int64)
    n_src = np.zeros(n, np.int64)
    src_label = np.full((n, MAX_SOURCES), -1, np.int64)
    src_az = np.full((n, MAX_SOURCES), np.nan)
    src_el = np.full((n, MAX_SOURCES), np.nan)
    cols = {c: np.zeros(n, np.float64) for c in _META_COLUMNS}
    params: list[dict[str, Any]] = []
    acc = HoaStatsAccumulator(cfg.order) if split == "train" else None
    for j, i in enumerate(rng_idx):
        sc = simulate_multisource_scene(
            cfg, multi, scene_seed(spec.seed, split, i), corpus, split=split
        )
        whole = {"mixture": sc.mixture, "direct": sc.direct, "reverberant": sc.reverberant,
                 "noise": sc.noise}
        for p in parts:
            audio[p][j] = whole[p]
        s = sc.n_sources
        if "source_direct" in src_audio:
            src_audio["source_direct"][j, :s] = sc.source_direct
        if "source_reverberant" in src_audio:
            src_audio["source_reverberant"][j, :s] = sc.source_reverberant
        labels[j] = sc.labels[0]
        n_src[j] = s
        src_label[j, :s] = sc.labels
        src_az[j, :s] = sc.azimuth_rad
        src_el[j, :s] = sc.elevation_rad
        for c in _META_COLUMNS:
            cols[c][j] = float(sc.params[c])
        params.append({"scene_index": i, **sc.params})
    if acc is not None:
        for lo in range(0, n, 16):
            acc.update(audio["mixture"][lo : lo + 16].astype(np.float32))
    path = root / shard_name(split, index)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", libver="earliest", track_order=False) as f:
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["split"] = split
            f.attrs["shard_index"] = index
            f.attrs["spec_sha256"] = spec.fingerprint()
            f.attrs["order"] = cfg.order
            f.attrs["n_examples"] = n
            for p in parts:
                f.create_dataset(p, data=audio[p], chunks=(1, k, CLIP_SAMPLES), track_times=False)
            for p, arr in src_audio.items():
                f.create_dataset(p, data=arr, chunks=(1, MAX_SOURCES, k, CLIP_SAMPLES),
                                 track_times=False)
            f.create_dataset("label", data=labels, track_times=False)
            for c in _META_COLUMNS:
                f.create_dataset(c, data=cols[c], track_times=False)
            f.create_dataset("n_sources", data=n_src, track_times=False)
            f.create_dataset("source_label", data=src_label, track_times=False)
            f.create_dataset("source_azimuth_rad", data=src_az, track_times=False)
            f.create_dataset("source_elevation_rad", data=src_el, track_times=False)
            f.create_dataset("scene_index", data=np.asarray(rng_idx, np.int64),
                             track_times=False)
            blob = json.dumps(params, sort_keys=True).encode("utf-8")
            f.create_dataset("params_json", data=np.frombuffer(blob, np.uint8),
                             track_times=False)
            if acc is not None:
                f.create_dataset("hoa_sums", data=acc.to_arrays(), track_times=False)
        digest = sha256_file(tmp)
        atomic_write_text(path.with_name(path.name + ".sha256"), digest + "\n")
    return {"file": path.name, "split": split, "index": index, "n_examples": n,
            "sha256": digest, "bytes": path.stat().st_size}


def _worker_shard(root: str, spec_dict: dict[str, Any], split: str, index: int) -> dict[str, Any]:
    torch.set_num_threads(1)
    return generate_multisource_shard(root, DatasetSpec.from_dict(spec_dict), split, index)


class _NoBar:
    """The progress bar :func:`generate_in_workers` updates, here silent."""

    def update(self, n: int) -> None:  # noqa: D102
        pass


def generate_multisource_dataset(
    root: str | os.PathLike[str],
    spec: DatasetSpec,
    *,
    workers: int = 1,
    corpus: Any = None,
) -> dict[str, Any]:
    """Generate the missing shards of a multi-source dataset, then ``manifest.json``.

    Finished shards whose checksum verifies are kept (resume); a folder holding another recipe
    is refused.
    """
    root = Path(root)
    if multisource_config_of(spec.config) is None:
        raise AudioLRPError("the dataset recipe has no multi-source settings")
    prepare_root(root, spec)
    todo = [sid for sid in spec.shard_ids() if not shard_is_complete(root, *sid)]
    t0 = time.perf_counter()
    if workers <= 1 or len(todo) <= 1:
        for split, index in todo:
            generate_multisource_shard(root, spec, split, index, corpus)
    else:  # Ctrl-C and failures handled as for single-source datasets (pool stopped at once)
        generate_in_workers(root, spec, todo, workers, [], _NoBar(), worker=_worker_shard)
    seconds = time.perf_counter() - t0
    n_scenes = sum(len(spec.shard_range(*sid)) for sid in todo)
    finalize_dataset(root)
    return {
        "out_dir": str(root),
        "counts": dict(spec.counts),
        "order": spec.config.order,
        "sources": multisource_config_of(spec.config).to_dict(),  # type: ignore[union-attr]
        "shards_total": len(spec.shard_ids()),
        "shards_written": len(todo),
        "scenes_simulated": n_scenes,
        "seconds": round(seconds, 3),
        "scenes_per_s": round(n_scenes / seconds, 3) if seconds > 0 and n_scenes else None,
        "manifest": str(root / MANIFEST_NAME),
    }


class MultiSourceDataset(FeatureDataset):
    """A :class:`FeatureDataset` of a multi-source folder with each scene's talkers.

    Attributes ``n_sources`` (n,), ``source_labels`` (n, 3; -1 padded), ``source_azimuth_rad``,
    ``source_elevation_rad`` (n, 3; NaN padded).
    """

    def __init__(self, root: str | os.PathLike[str], split: str, feature: str = "intensity",
                 order: int | None = None, return_audio: bool = False) -> None:
        super().__init__(root, split, feature=feature, order=order, return_audio=return_audio)
        spec = DatasetSpec.from_dict(
            {k: self.manifest[k] for k in ("config", "seed", "counts", "shard_size", "dtype",
                                           "direct_splits", "all_parts")}
        )
        self.multi = multisource_config_of(spec.config)
        if self.multi is None:
            raise DatasetError(
                f"{self.root} is a single-source dataset; simulate one with "
                "`audiolrp simulate OUT --sources 1-3`"
            )
        n_src, lab, az, el = [], [], [], []
        for s in self.shards:
            with h5py.File(self.root / s["file"], "r") as f:
                n_src.append(f["n_sources"][()])
                lab.append(f["source_label"][()])
                az.append(f["source_azimuth_rad"][()])
                el.append(f["source_elevation_rad"][()])
        empty = np.zeros((0, MAX_SOURCES))
        self.n_sources = np.concatenate(n_src) if n_src else np.zeros(0, np.int64)
        self.source_labels = np.concatenate(lab) if lab else empty.astype(np.int64)
        self.source_azimuth_rad = np.concatenate(az) if az else empty
        self.source_elevation_rad = np.concatenate(el) if el else empty

    def source_audio(self, i: int, part: str = "source_direct") -> np.ndarray:
        """``(n_sources, K, 16000)`` float32 per-talker audio of example ``i`` where stored."""
        si, r = self._index[i]
        f = self._file(si)
        if part not in f:
            raise DatasetError(
                f"{part!r} is not stored in split {self.split!r}; simulate with --direct-splits"
            )
        return np.asarray(f[part][r, : int(self.n_sources[i])], np.float32)

    def directions(self, i: int) -> np.ndarray:
        """``(n_sources, 2)`` [azimuth_rad, elevation_rad] of example ``i``."""
        s = int(self.n_sources[i])
        return np.stack([self.source_azimuth_rad[i, :s], self.source_elevation_rad[i, :s]], 1)


__all__ = [
    "MULTISOURCE_KEY",
    "MultiSourceDataset",
    "generate_multisource_dataset",
    "generate_multisource_shard",
    "multisource_config_of",
    "multisource_spec",
]

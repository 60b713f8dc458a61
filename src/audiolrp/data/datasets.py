"""Sharded, reproducible train/val/test sets of simulated scenes, and a PyTorch dataset.

Layout of a dataset folder (``audiolrp simulate OUT_DIR``)
----------------------------------------------------------
``dataset_spec.json``
    The generation recipe (:class:`DatasetSpec`: scene config, seed, counts, shard size, storage
    dtype, which splits keep the direct sound). Written first; a later run into the same folder
    with a different recipe is refused.
``{split}-{index:05d}.h5`` + ``.sha256``
    Shards of ``shard_size`` scenes. Scene ``i`` of a split is
    ``simulate_scene(config, SeedSequence([seed, split_code, i]), split=split)``, so each shard
    is a pure function of ``(spec, split, index)``: serial, parallel (``--workers``), resumed and
    machine-split (``--shard I/N``) runs give byte-identical files (same software stack). HDF5
    files are written without timestamps (``track_times=False``), attributes in a fixed order,
    no compression; each is written to a temporary file (:func:`audiolrp.io.atomic_path`)
    and renamed after its checksum sidecar is written, so partial files are never visible and
    finished shards are recognised (checksum verified) and kept on resume.
``manifest.json``
    Written when all shards exist (by a run without ``--shard`` or by ``--finalize``): spec,
    counts, shard list with sha256 and size, corpus description and the HOA normalisation
    statistics of the train split for every order ``0..N`` (magnitude mean/std and phase
    mean/std pooled over channels, paper section "Experimental Setup"; none for intensity).

Shard contents (HDF5, root only)
--------------------------------
``mixture`` (n, (N+1)^2, 16000) float32|float16 - always; ``direct`` (same) - splits listed in
``direct_splits`` (default test); with ``all_parts`` also ``reverberant`` and ``noise``;
``label`` int64; ``azimuth_rad``, ``elevation_rad``, ``snr_db``, ``rt60_s``, ``distance_m``,
``drr_db`` float64; ``scene_index`` int64; ``params_json`` uint8 (UTF-8 JSON list of the scene
params); ``hoa_sums`` (5, (N+1)^2) float64 per-channel STFT magnitude/phase sums (train only,
of the stored audio) from which the manifest statistics are merged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from tqdm import tqdm

from audiolrp.constants import CLIP_SAMPLES
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.io import atomic_path, atomic_write_text, json_text, write_json
from audiolrp.signal.features import (
    HoaStats,
    HoaStatsAccumulator,
    compute_features,
    feature_channels,
    normalization_vectors,
)
from audiolrp.simulation.scenes import SPLITS, SceneConfig, get_corpus, simulate_scene

FORMAT_VERSION: int = 1
MANIFEST_NAME: str = "manifest.json"
SPEC_NAME: str = "dataset_spec.json"
SPLIT_CODES: dict[str, int] = {"train": 0, "val": 1, "test": 2}
_META_COLUMNS: tuple[str, ...] = (
    "azimuth_rad", "elevation_rad", "snr_db", "rt60_s", "distance_m", "drr_db",
)
_PARTS: tuple[str, ...] = ("mixture", "direct", "reverberant", "noise")
_THREAD_ENV: tuple[str, ...] = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# --------------------------------------------------------------------------------------------
# spec
# --------------------------------------------------------------------------------------------
@dataclass
class DatasetSpec:
    """Everything a dataset is a pure function of.

    Attributes
    ----------
    config
        Scene generator configuration (its ``order`` is the stored HOA order).
    seed
        Master seed.
    counts
        Examples per split, e.g. ``{"train": 1000, "val": 100, "test": 100}``.
    shard_size
        Scenes per shard file.
    dtype
        Storage dtype of the audio, ``"float32"`` (default) or ``"float16"`` (half the size;
        relative error ~5e-4 per sample, see ``docs/data.md``).
    direct_splits
        Splits whose shards also hold the direct sound (needed by the analyses).
    all_parts
        Also store ``reverberant`` and ``noise`` for the splits in ``direct_splits``.
    """

    config: SceneConfig = field(default_factory=SceneConfig)
    seed: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"train": 1000, "val": 100, "test": 100})
    shard_size: int = 256
    dtype: str = "float32"
    direct_splits: tuple[str, ...] = ("test",)
    all_parts: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.config, dict):
            self.config = SceneConfig.from_dict(self.config)
        self.counts = {s: int(self.counts.get(s, 0)) for s in SPLITS}
        if any(v < 0 for v in self.counts.values()):
            raise AudioLRPError(f"example counts {self.counts} must be >= 0")
        if self.shard_size < 1:
            raise AudioLRPError(f"shard_size={self.shard_size} must be >= 1")
        if self.dtype not in ("float32", "float16"):
            raise AudioLRPError(f"dtype={self.dtype!r}; use 'float32' or 'float16'")
        self.direct_splits = tuple(self.direct_splits)
        bad = set(self.direct_splits) - set(SPLITS)
        if bad:
            raise AudioLRPError(f"unknown splits {sorted(bad)} in direct_splits; use {SPLITS}")

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready plain data (``dataset_spec.json``)."""
        return {
            "config": self.config.to_dict(),
            "seed": int(self.seed),
            "counts": dict(self.counts),
            "shard_size": int(self.shard_size),
            "dtype": self.dtype,
            "direct_splits": list(self.direct_splits),
            "all_parts": bool(self.all_parts),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetSpec:
        """The spec written by :meth:`to_dict`."""
        try:
            return cls(
                config=SceneConfig.from_dict(d["config"]),
                seed=int(d["seed"]),
                counts=dict(d["counts"]),
                shard_size=int(d["shard_size"]),
                dtype=str(d.get("dtype", "float32")),
                direct_splits=tuple(d.get("direct_splits", ("test",))),
                all_parts=bool(d.get("all_parts", False)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise DatasetError(
                f"dataset spec is incomplete ({err!r}); re-run `audiolrp simulate`"
            ) from None

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of the spec (stored in every shard)."""
        return hashlib.sha256(
            json.dumps(self.to_dict(), sort_keys=True).encode("utf-8")
        ).hexdigest()

    def shard_ids(self) -> list[tuple[str, int]]:
        """All ``(split, index)`` in canonical order (train, val, test)."""
        return [
            (s, i) for s in SPLITS for i in range(math.ceil(self.counts[s] / self.shard_size))
        ]

    def shard_range(self, split: str, index: int) -> range:
        """Example indices of shard ``index`` of ``split``."""
        lo = index * self.shard_size
        return range(lo, min(lo + self.shard_size, self.counts[split]))

    def parts(self, split: str) -> tuple[str, ...]:
        """Stored audio parts of ``split`` (the mixture; also direct/rest for test sets)."""
        if split not in self.direct_splits:
            return ("mixture",)
        return _PARTS if self.all_parts else ("mixture", "direct")


def shard_name(split: str, index: int) -> str:
    """File name of a shard, e.g. ``train-00003.h5``."""
    return f"{split}-{index:05d}.h5"


def scene_seed(seed: int, split: str, index: int) -> np.random.SeedSequence:
    """Seed of scene ``index`` of ``split``: ``SeedSequence([seed, split_code, index])``."""
    return np.random.SeedSequence([int(seed), SPLIT_CODES[split], int(index)])


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _json_dump(obj: Any) -> str:
    return json_text(obj, sort_keys=True, indent=1, default=None)


# --------------------------------------------------------------------------------------------
# generation
# --------------------------------------------------------------------------------------------
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


def generate_shard(
    root: str | os.PathLike[str], spec: DatasetSpec, split: str, index: int, corpus: Any = None
) -> dict[str, Any]:
    """Simulate and write one shard (pure function of ``(spec, split, index)``).

    Returns
    -------
    dict
        ``{"file", "split", "index", "n_examples", "sha256", "bytes"}``.
    """

    root = Path(root)
    rng_idx = spec.shard_range(split, index)
    if len(rng_idx) == 0:
        raise AudioLRPError(f"shard {split}/{index} is empty for counts {spec.counts}")
    cfg = spec.config
    corpus = corpus if corpus is not None else get_corpus(cfg.speech, cfg.corpus_seed)
    parts = spec.parts(split)
    n, k = len(rng_idx), cfg.n_sh
    dtype = np.dtype(spec.dtype)
    audio = {p: np.zeros((n, k, CLIP_SAMPLES), dtype) for p in parts}
    labels = np.zeros(n, np.int64)
    cols = {c: np.zeros(n, np.float64) for c in _META_COLUMNS}
    params: list[dict[str, Any]] = []
    acc = HoaStatsAccumulator(cfg.order) if split == "train" else None
    for j, i in enumerate(rng_idx):
        sc = simulate_scene(cfg, scene_seed(spec.seed, split, i), corpus, split=split)
        for p in parts:
            audio[p][j] = getattr(sc, p)
        labels[j] = sc.label
        for c in _META_COLUMNS:
            cols[c][j] = float(sc.params[c])
        params.append({"scene_index": i, **sc.params})
    if acc is not None:  # statistics of the stored (possibly float16) audio, fixed chunking
        for lo in range(0, n, 16):
            acc.update(audio["mixture"][lo : lo + 16].astype(np.float32))
    path = root / shard_name(split, index)
    with atomic_path(path) as tmp:  # renamed after the checksum sidecar is written
        with h5py.File(tmp, "w", libver="earliest", track_order=False) as f:
            # attributes in a fixed order
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["split"] = split
            f.attrs["shard_index"] = index
            f.attrs["spec_sha256"] = spec.fingerprint()
            f.attrs["order"] = cfg.order
            f.attrs["n_examples"] = n
            for p in parts:
                f.create_dataset(
                    p, data=audio[p], chunks=(1, k, CLIP_SAMPLES), track_times=False
                )
            f.create_dataset("label", data=labels, track_times=False)
            for c in _META_COLUMNS:
                f.create_dataset(c, data=cols[c], track_times=False)
            idx = np.asarray(rng_idx, np.int64)
            f.create_dataset("scene_index", data=idx, track_times=False)
            blob = json.dumps(params, sort_keys=True).encode("utf-8")
            raw = np.frombuffer(blob, np.uint8)
            f.create_dataset("params_json", data=raw, track_times=False)
            if acc is not None:
                f.create_dataset("hoa_sums", data=acc.to_arrays(), track_times=False)
        digest = sha256_file(tmp)
        atomic_write_text(path.with_name(path.name + ".sha256"), digest + "\n")
    return {
        "file": path.name,
        "split": split,
        "index": index,
        "n_examples": n,
        "sha256": digest,
        "bytes": path.stat().st_size,
    }


def _worker_init() -> None:
    torch.set_num_threads(1)


def _worker_shard(root: str, spec_dict: dict[str, Any], split: str, index: int) -> dict[str, Any]:
    return generate_shard(root, DatasetSpec.from_dict(spec_dict), split, index)


def parse_shard_arg(text: str | None) -> tuple[int, int] | None:
    """Parse ``"I/N"`` (0 <= I < N) into ``(I, N)``."""
    if text is None:
        return None
    try:
        i_s, n_s = text.split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise AudioLRPError(f"--shard {text!r} is not I/N; pass e.g. 0/4") from None
    if n < 1 or not 0 <= i < n:
        raise AudioLRPError(f"--shard {text!r} needs 0 <= I < N; pass e.g. 0/4")
    return i, n


def _prepare_root(root: Path, spec: DatasetSpec) -> bool:
    """Create ``root`` and write the recipe, or check it against an existing one.

    Returns True when this call wrote ``SPEC_NAME`` (a new dataset folder).
    """
    root.mkdir(parents=True, exist_ok=True)
    spec_path = root / SPEC_NAME
    text = _json_dump(spec.to_dict())
    if spec_path.exists():
        try:
            old = DatasetSpec.from_dict(json.loads(spec_path.read_text(encoding="utf-8")))
        except json.JSONDecodeError:
            old = None
        if old is None or old.fingerprint() != spec.fingerprint():
            raise DatasetError(
                f"{root} holds a dataset with a different recipe ({SPEC_NAME}); choose another "
                "OUT_DIR or delete the folder"
            )
        return False
    atomic_write_text(spec_path, text)
    return True


def _forget_new_spec(root: Path) -> None:
    """Remove the recipe written by a run that failed before producing anything.

    Only when ``root`` holds nothing but ``SPEC_NAME`` (no shard, no temporary file of another
    machine's ``--shard`` run), so a corrected re-run in the same folder is not refused as a
    different recipe.
    """
    with contextlib.suppress(OSError):
        if [p.name for p in root.iterdir()] == [SPEC_NAME]:
            (root / SPEC_NAME).unlink()


def generate_dataset(
    root: str | os.PathLike[str],
    spec: DatasetSpec,
    *,
    workers: int = 1,
    shard: tuple[int, int] | None = None,
    progress: bool = True,
    corpus: Any = None,
) -> dict[str, Any]:
    """Generate the missing shards (all, or this machine's ``shard=(I, N)`` share).

    Finished shards whose checksum verifies are kept; stale temporary files are ignored.
    Without ``shard`` the manifest is written at the end (:func:`finalize_dataset`).

    Parameters
    ----------
    root
        Output folder.
    spec
        The dataset recipe.
    workers
        Processes generating shards in parallel (1 = in this process).
    shard
        ``(I, N)``: only shards whose position in :meth:`DatasetSpec.shard_ids` is ``I mod N``.
    progress
        Show a tqdm progress bar (scenes).
    corpus
        Speech corpus object for in-process generation (default from the config).

    Returns
    -------
    dict
        Summary: counts, shards written/kept, bytes, seconds, scenes per second, manifest path.

    Raises
    ------
    AudioLRPError
        Bad recipe, corpus or folder. A run that fails before writing any shard into a new
        folder removes its recipe again, so the corrected command can reuse the folder.
    """
    root = Path(root)
    new_spec = _prepare_root(root, spec)
    try:
        return _generate(root, spec, workers=workers, shard=shard, progress=progress,
                         corpus=corpus)
    except BaseException:
        if new_spec:
            _forget_new_spec(root)
        raise


def _generate(
    root: Path,
    spec: DatasetSpec,
    *,
    workers: int,
    shard: tuple[int, int] | None,
    progress: bool,
    corpus: Any,
) -> dict[str, Any]:
    """Body of :func:`generate_dataset` after the folder and recipe are in place."""

    ids = spec.shard_ids()
    mine = [sid for g, sid in enumerate(ids) if shard is None or g % shard[1] == shard[0]]
    todo = [sid for sid in mine if not shard_is_complete(root, *sid)]
    kept = len(mine) - len(todo)
    n_scenes = sum(len(spec.shard_range(*sid)) for sid in todo)
    t0 = time.perf_counter()
    written: list[dict[str, Any]] = []
    bar = tqdm(total=n_scenes, unit="scene", disable=not progress, desc="simulate")
    try:
        if workers <= 1 or len(todo) <= 1:
            for split, index in todo:
                written.append(generate_shard(root, spec, split, index, corpus))
                bar.update(written[-1]["n_examples"])
        else:
            ctx = mp.get_context("spawn")
            # one BLAS/OpenMP thread per worker process (set before the children import numpy)
            saved = {k: os.environ.get(k) for k in _THREAD_ENV}
            os.environ.update({k: "1" for k in _THREAD_ENV})
            try:
                with ProcessPoolExecutor(
                    max_workers=min(workers, len(todo)), mp_context=ctx, initializer=_worker_init
                ) as pool:
                    futs = [
                        pool.submit(_worker_shard, str(root), spec.to_dict(), split, index)
                        for split, index in todo
                    ]
                    for fut in as_completed(futs):
                        written.append(fut.result())
                        bar.update(written[-1]["n_examples"])
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    summary: dict[str, Any] = {
        "out_dir": str(root),
        "counts": dict(spec.counts),
        "order": spec.config.order,
        "shards_total": len(ids),
        "shards_this_run": len(mine),
        "shards_written": len(written),
        "shards_kept": kept,
        "scenes_simulated": n_scenes,
        "seconds": round(seconds, 3),
        "scenes_per_s": round(n_scenes / seconds, 3) if seconds > 0 and n_scenes else None,
        "bytes": sum((root / shard_name(*sid)).stat().st_size for sid in mine),
        "manifest": None,
    }
    if shard is None:
        finalize_dataset(root)
        summary["manifest"] = str(root / MANIFEST_NAME)
    return summary


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


# --------------------------------------------------------------------------------------------
# PyTorch dataset
# --------------------------------------------------------------------------------------------
class FeatureDataset(torch.utils.data.Dataset):
    """Features computed on the fly from the stored audio of one split.

    Parameters
    ----------
    root
        Dataset folder (with ``manifest.json``).
    split
        ``"train"``, ``"val"`` or ``"test"``.
    feature
        ``"hoa"`` (``2 (N+1)^2`` channels) or ``"intensity"`` (6 channels).
    order
        HOA order N <= stored order (default: stored order); ignored for intensity.
    return_meta
        ``__getitem__`` also returns :meth:`meta` of the example.
    return_audio
        ``__getitem__`` returns the audio ``(K, 16000)`` instead of features, for the batched
        path: features are then computed per batch by :meth:`collate` (torch, any device).

    Items are ``(features float32 (C, 50, 512), label int64)`` tensors.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str,
        feature: str = "hoa",
        order: int | None = None,
        return_meta: bool = False,
        return_audio: bool = False,
    ) -> None:

        self.root = Path(root)
        if split not in SPLITS:
            raise DatasetError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        if feature not in ("hoa", "intensity"):
            raise DatasetError(f"unknown feature {feature!r}; use 'hoa' or 'intensity'")
        self.manifest = load_manifest(self.root)
        self.split = split
        self.feature = feature
        self.stored_order = int(self.manifest["order"])
        if feature == "intensity":
            if self.stored_order < 1:
                raise DatasetError("intensity features need first-order audio; simulate order>=1")
            self.order = 1
        else:
            self.order = self.stored_order if order is None else int(order)
            if not 0 <= self.order <= self.stored_order:
                raise DatasetError(
                    f"order {self.order} requested but {self.root} stores order "
                    f"{self.stored_order}; pass order <= {self.stored_order}"
                )
        self.return_meta = return_meta
        self.return_audio = return_audio
        self.shards = [s for s in self.manifest["shards"] if s["split"] == split]
        self.shards.sort(key=lambda s: s["index"])
        labels: list[np.ndarray] = []
        self._index: list[tuple[int, int]] = []
        for si, s in enumerate(self.shards):
            path = self.root / s["file"]
            if not path.is_file():
                raise DatasetError(
                    f"shard {path} is missing; re-run `audiolrp simulate {self.root}`"
                )
            if path.stat().st_size != s["bytes"]:
                raise DatasetError(
                    f"shard {path} has {path.stat().st_size} bytes, manifest says {s['bytes']} "
                    f"(truncated?); re-run `audiolrp simulate {self.root}`"
                )
            try:
                with h5py.File(path, "r") as f:
                    lab = f["label"][()]
            except (OSError, KeyError) as err:
                raise DatasetError(
                    f"shard {path} is unreadable ({err}); re-run `audiolrp simulate {self.root}`"
                ) from None
            labels.append(lab)
            self._index += [(si, r) for r in range(len(lab))]
        self.labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        self._files: dict[int, Any] = {}
        self._pid = os.getpid()

    # -- internals
    def _file(self, si: int) -> Any:

        if self._pid != os.getpid():  # forked DataLoader worker: reopen handles
            self._files, self._pid = {}, os.getpid()
        f = self._files.get(si)
        if f is None:
            path = self.root / self.shards[si]["file"]
            try:
                f = h5py.File(path, "r")
            except OSError as err:
                raise DatasetError(
                    f"shard {path} is unreadable ({err}); re-run `audiolrp simulate {self.root}`"
                ) from None
            self._files[si] = f
        return f

    def __getstate__(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["_files"] = {}
        return d

    def __len__(self) -> int:
        return len(self._index)

    @property
    def n_channels(self) -> int:
        """Feature channels C."""
        return feature_channels(self.feature, self.order)  # type: ignore[arg-type]

    def audio(self, i: int, part: str = "mixture", order: int | None = None) -> np.ndarray:
        """Stored audio of example ``i``, float32 ``((order+1)^2, 16000)``.

        ``order`` defaults to the dataset's order for HOA features and the stored order for
        intensity. ``part`` is ``"mixture"`` or, where stored, ``"direct"`` (also
        ``"reverberant"``/``"noise"`` with ``all_parts``).
        """
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} examples")
        si, r = self._index[i]
        f = self._file(si)
        if part not in f:
            stored = [p for p in _PARTS if p in f]
            raise DatasetError(
                f"part {part!r} is not stored in split {self.split!r} (stored: {stored}); "
                "simulate with --direct-splits/--all-parts to keep it"
            )
        o = (self.order if self.feature == "hoa" else self.stored_order) if order is None else order
        if not 0 <= o <= self.stored_order:
            raise DatasetError(f"order {o} not available; stored order is {self.stored_order}")
        k = (o + 1) ** 2
        try:
            x = f[part][r, :k]
        except OSError as err:
            raise DatasetError(
                f"shard {self.shards[si]['file']} is corrupt ({err}); re-run simulate"
            ) from None
        return np.asarray(x, dtype=np.float32)

    def meta(self, i: int) -> dict[str, Any]:
        """Scene parameters of example ``i`` (label, az/el, snr_db, rt60_s, room, ...)."""
        si, r = self._index[i]
        f = self._file(si)
        key = ("_params", si)
        cache = self.__dict__.setdefault("_params_cache", {})
        if key not in cache:
            cache[key] = json.loads(bytes(f["params_json"][()]).decode("utf-8"))
        d = dict(cache[key][r])
        d["shard"] = self.shards[si]["file"]
        return d

    def features_from_audio(self, audio: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Features ``(..., C, 50, 512)`` float32 of audio ``(..., K, 16000)`` (torch)."""
        t = torch.as_tensor(audio)
        if t.is_complex():  # an STFT (e.g. of training crops, features.stft_frames)
            return compute_features(t, self.feature, self.order).float()
        if not t.is_floating_point():
            raise DatasetError("audio must be floating point")
        out = compute_features(t.float(), self.feature, self.order)
        return out.float()

    def __getitem__(self, i: int) -> Any:
        x = self.audio(i, order=self.order)  # only the channels the feature needs
        y = torch.tensor(int(self.labels[i]), dtype=torch.int64)
        item: Any
        if self.return_audio:
            item = (torch.from_numpy(x), y)
        else:
            item = (self.features_from_audio(x), y)
        if self.return_meta:
            return (*item, self.meta(i))
        return item

    def collate(
        self, batch: Sequence[Any], device: str | torch.device | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Batched feature path: stack audio items (``return_audio=True``), move them to
        ``device`` and compute the features there in one call."""
        xs = torch.stack([torch.as_tensor(b[0]) for b in batch])
        ys = torch.stack([torch.as_tensor(b[1], dtype=torch.int64) for b in batch])
        if device is not None:
            xs, ys = xs.to(device), ys.to(device)
        if xs.dim() == 3 and xs.shape[-1] == CLIP_SAMPLES:
            xs = self.features_from_audio(xs)
        return xs, ys

    def collate_fn(self, device: str | torch.device | None = None) -> Callable[..., Any]:
        """A ``DataLoader`` ``collate_fn`` bound to ``device`` (see :meth:`collate`)."""

        def fn(batch: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
            return self.collate(batch, device)

        return fn

    def hoa_stats(self, order: int | None = None) -> HoaStats:
        """Train-split HOA statistics of ``order`` (default the dataset's) from the manifest."""
        o = self.order if order is None else order
        table = self.manifest["normalization"].get("hoa") or {}
        if str(o) not in table:
            raise DatasetError(
                f"manifest of {self.root} has no HOA statistics for order {o} (empty train "
                "split?); simulate a train split"
            )
        return HoaStats.from_dict(table[str(o)])

    def normalization_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(mean (C,), std (C,))`` float32 for ``InputNormalization``: HOA from
        the train split's magnitude/phase statistics, zeros/ones for intensity."""
        if self.feature == "intensity":
            return normalization_vectors("intensity", 1, None)
        return normalization_vectors("hoa", self.order, self.hoa_stats())

    def close(self) -> None:
        """Close the open HDF5 files."""
        for f in self._files.values():
            f.close()
        self._files = {}


class FeatureDatasets(torch.utils.data.Dataset):
    """Several :class:`FeatureDataset` splits (e.g. one per speech corpus) used as one.

    Example ``i`` is example ``i - offset_k`` of part ``k``; every part must give the same
    feature and order. :meth:`normalization_stats` pools the parts' per-channel statistics
    exactly (count-weighted means and second moments).
    """

    def __init__(self, parts: Sequence[FeatureDataset]) -> None:
        if not parts:
            raise DatasetError("no dataset folders given: pass at least one")
        kinds = {(p.feature, p.order) for p in parts}
        if len(kinds) != 1:
            raise DatasetError(
                f"dataset folders give different features/orders {sorted(kinds)}: pass folders "
                "of the same stored order"
            )
        self.parts = list(parts)
        self.feature, self.order = parts[0].feature, parts[0].order
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.labels = np.concatenate([p.labels for p in parts])
        self.return_audio = False
        self.return_meta = False
        self.root = parts[0].root
        self.manifest = parts[0].manifest

    def _locate(self, i: int) -> tuple[FeatureDataset, int]:
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} examples")
        k = int(np.searchsorted(self.offsets, i, side="right") - 1)
        return self.parts[k], int(i - self.offsets[k])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_channels(self) -> int:
        """Number of feature channels."""
        return self.parts[0].n_channels

    def audio(self, i: int, part: str = "mixture", order: int | None = None) -> np.ndarray:
        """Stored audio ``part`` of example ``i`` (``(K, 16000)``), up to ``order``."""
        ds, j = self._locate(i)
        return ds.audio(j, part, order)

    def meta(self, i: int) -> dict[str, Any]:
        """Scene parameters of example ``i``."""
        ds, j = self._locate(i)
        return ds.meta(j)

    def features_from_audio(self, audio: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Features of audio, as the parts compute them."""
        return self.parts[0].features_from_audio(audio)

    def __getitem__(self, i: int) -> Any:
        ds, j = self._locate(i)
        ds.return_audio, ds.return_meta = self.return_audio, self.return_meta
        return ds[j]

    def collate(
        self, batch: Sequence[Any], device: str | torch.device | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A training batch ``(features, labels)`` from raw items."""
        return self.parts[0].collate(batch, device)

    def collate_fn(self, device: str | torch.device | None = None) -> Callable[..., Any]:
        """A ``DataLoader`` collate function computing features on ``device``."""
        def fn(batch: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
            return self.collate(batch, device)

        return fn

    def normalization_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean/std over all parts (weighted by their sizes)."""
        n = np.array([len(p) for p in self.parts], np.float64)
        stats = [p.normalization_stats() for p in self.parts]
        means = np.stack([m for m, _ in stats]).astype(np.float64)
        second = np.stack([s.astype(np.float64) ** 2 + m**2 for m, s in stats])
        w = (n / n.sum())[:, None]
        mean = (w * means).sum(0)
        std = np.sqrt(np.maximum((w * second).sum(0) - mean**2, 0.0))
        std[std < 1e-8] = 1.0
        return mean.astype(np.float32), std.astype(np.float32)

    def close(self) -> None:
        """Close the open HDF5 files."""
        for p in self.parts:
            p.close()


def open_splits(
    roots: Sequence[str | os.PathLike[str]], split: str, feature: str, order: int | None
) -> FeatureDataset | FeatureDatasets:
    """One split of one or several dataset folders (several: :class:`FeatureDatasets`)."""
    parts = [FeatureDataset(r, split, feature=feature, order=order) for r in roots]
    return parts[0] if len(parts) == 1 else FeatureDatasets(parts)


def iter_batches(
    dataset: FeatureDataset, indices: Iterable[int], batch_size: int,
    device: str | torch.device | None = None,
) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of features computed in torch from stacked audio (fast path without workers)."""
    idx = list(indices)
    for s in range(0, len(idx), batch_size):
        chunk = idx[s : s + batch_size]
        audio = torch.from_numpy(np.stack([dataset.audio(i, order=dataset.order) for i in chunk]))
        labels = torch.as_tensor(dataset.labels[chunk], dtype=torch.int64)
        if device is not None:
            audio, labels = audio.to(device), labels.to(device)
        yield dataset.features_from_audio(audio), labels


__all__ = [
    "DatasetSpec",
    "FORMAT_VERSION",
    "FeatureDataset",
    "FeatureDatasets",
    "open_splits",
    "MANIFEST_NAME",
    "finalize_dataset",
    "generate_dataset",
    "generate_shard",
    "iter_batches",
    "load_manifest",
    "parse_shard_arg",
    "scene_seed",
    "shard_is_complete",
    "shard_name",
    "verify_dataset",
]


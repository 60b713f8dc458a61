"""Writing a dataset: one HDF5 shard per call, serial or in worker processes, this machine's
``--shard I/N`` share, resume (finished shards kept), then the manifest (format in
:mod:`audiolrp.data`)."""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from tqdm import tqdm

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from audiolrp.constants import CLIP_SAMPLES
from audiolrp.data.manifest import finalize_dataset, sha256_file, shard_is_complete
from audiolrp.data.spec import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    SPEC_NAME,
    DatasetSpec,
    scene_seed,
    shard_name,
)
from audiolrp.errors import AudioLRPError, DatasetError, Interrupted, NoSpaceError
from audiolrp.io import atomic_path, atomic_write_text, json_text
from audiolrp.signal.features import HoaStatsAccumulator
from audiolrp.simulation.scenes import get_corpus, simulate_scene

_META_COLUMNS: tuple[str, ...] = (
    "azimuth_rad", "elevation_rad", "snr_db", "rt60_s", "distance_m", "drr_db",
)
_THREAD_ENV: tuple[str, ...] = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SHARD_OVERHEAD_BYTES = 1 << 20
"""Room needed beyond a shard's arrays (HDF5 metadata, chunk index, checksum sidecar)."""


def _json_dump(obj: Any) -> str:
    return json_text(obj, sort_keys=True, indent=1, default=None)


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
    needed = sum(a.nbytes for a in audio.values()) + labels.nbytes + 8 * n * (
        len(_META_COLUMNS) + 1) + len(params) * 512 + SHARD_OVERHEAD_BYTES
    with _one_writer(root):
        check_free_space(path, needed)
        digest = _write_shard_file(path, spec, split, index, audio, labels, cols, rng_idx,
                                   params, acc)
    return {
        "file": path.name,
        "split": split,
        "index": index,
        "n_examples": n,
        "sha256": digest,
        "bytes": path.stat().st_size,
    }


def check_free_space(path: Path, needed_bytes: int) -> None:
    """Raise :class:`~audiolrp.errors.NoSpaceError` (``ENOSPC``, naming ``path``) when the file
    system of ``path``'s folder has less than ``needed_bytes`` free.

    HDF5 cannot recover from a full disk: the failed file stays open inside the library and the
    process crashes at exit (a segmentation fault after the error message). Checking before
    writing turns a full disk into the CLI's one-line error instead.
    """
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:  # no statvfs here: let the write itself tell
        return
    if free < needed_bytes:
        raise NoSpaceError(str(path), needed_bytes, free)


@contextlib.contextmanager
def _one_writer(root: Path) -> Iterator[None]:
    """Hold the dataset folder's lock (``fcntl.flock`` on the folder itself, so no lock file is
    left; none where unsupported): parallel workers check the free space and write their
    shards one at a time, and a shard's free-space check holds until it is written."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    try:
        fd = os.open(root, os.O_RDONLY)
    except OSError:  # pragma: no cover - a folder that cannot be opened: write unlocked
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_shard_file(
    path: Path,
    spec: DatasetSpec,
    split: str,
    index: int,
    audio: dict[str, np.ndarray],
    labels: np.ndarray,
    cols: dict[str, np.ndarray],
    rng_idx: range,
    params: list[dict[str, Any]],
    acc: HoaStatsAccumulator | None,
) -> str:
    """Write one shard file atomically (renamed after its checksum sidecar); returns its
    sha256."""
    cfg = spec.config
    n, k = len(rng_idx), cfg.n_sh
    with atomic_path(path) as tmp:  # renamed after the checksum sidecar is written
        with h5py.File(tmp, "w", libver="earliest", track_order=False) as f:
            # attributes in a fixed order
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["split"] = split
            f.attrs["shard_index"] = index
            f.attrs["spec_sha256"] = spec.fingerprint()
            f.attrs["order"] = cfg.order
            f.attrs["n_examples"] = n
            for p, data in audio.items():
                f.create_dataset(
                    p, data=data, chunks=(1, k, CLIP_SAMPLES), track_times=False
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
    return digest


def _worker_init() -> None:
    """Worker set-up: one torch thread, and Ctrl-C left to the parent (a terminal's Ctrl-C
    reaches every process of the group; the parent terminates the pool, so a worker must not
    print a ``KeyboardInterrupt`` traceback of its own)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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


def prepare_root(root: Path, spec: DatasetSpec) -> bool:
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
    new_spec = prepare_root(root, spec)
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
            generate_in_workers(root, spec, todo, workers, written, bar)
    except KeyboardInterrupt:
        done = sum((root / shard_name(*sid)).is_file() for sid in mine)
        raise Interrupted(
            f"{done} of {len(mine)} shards kept; rerun the same command to resume"
        ) from None
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


def generate_in_workers(
    root: Path,
    spec: DatasetSpec,
    todo: list[tuple[str, int]],
    workers: int,
    written: list[dict[str, Any]],
    bar: Any,
    worker: Callable[[str, dict[str, Any], str, int], dict[str, Any]] | None = None,
) -> None:
    """Write the shards ``todo`` in ``workers`` processes, appending their summaries to
    ``written`` as they finish (``worker(root, spec_dict, split, index)`` writes one shard:
    :func:`generate_shard`'s by default; the multi-source datasets pass theirs).

    On any failure (Ctrl-C, a full disk, a bug) the pool is terminated at once instead of
    finishing the queued shards, and the temporary files of the shards cut short are removed:
    finished shards are kept (a rerun resumes), nothing half-written is.
    """
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=mp.get_context("spawn"),
        initializer=_worker_init,
    )
    try:
        with _worker_start():  # the workers are started by the first submits
            futs = [
                pool.submit(worker or _worker_shard, str(root), spec.to_dict(), split, index)
                for split, index in todo
            ]
        for fut in as_completed(futs):
            written.append(fut.result())
            bar.update(written[-1]["n_examples"])
    except BaseException:
        _terminate(pool)
        _remove_temporaries(root, todo)
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def _worker_start() -> Iterator[None]:
    """What worker processes started in this block inherit: one BLAS/OpenMP thread each (set
    before they import numpy), and Ctrl-C ignored from their first instruction (an ignored
    SIGINT stays ignored in the new interpreter, so a Ctrl-C while they import prints no
    ``KeyboardInterrupt`` traceback; :func:`_worker_init` keeps it so). The parent's own
    Ctrl-C handling is back when the block ends."""
    saved = {k: os.environ.get(k) for k in _THREAD_ENV}
    os.environ.update({k: "1" for k in _THREAD_ENV})
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` now: queued shards cancelled, running workers terminated (SIGTERM), and
    the pool's manager thread joined. The join matters on Ctrl-C: the command then leaves with
    ``os._exit`` (:func:`audiolrp.cli._exit_now`), which skips the interpreter's joining of
    that thread; a thread still releasing the pool's queues at that moment unlinks a semaphore
    without telling multiprocessing's resource tracker, which then prints "leaked semaphore"
    warnings after the one-line message."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(timeout=1.0)
    if manager is not None:
        with contextlib.suppress(Exception):
            manager.join(timeout=2.0)


def _remove_temporaries(root: Path, todo: list[tuple[str, int]]) -> None:
    """Remove the temporary files (:func:`audiolrp.io.atomic_path`) of the shards ``todo``
    that terminated workers left behind; finished shards are untouched."""
    for sid in todo:
        name = shard_name(*sid)
        for tmp in root.glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
        for tmp in root.glob(f".{name}.sha256.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()


__all__ = [
    "check_free_space",
    "generate_dataset",
    "generate_shard",
    "parse_shard_arg",
]

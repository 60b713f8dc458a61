"""A directory of speech files as a corpus (TIMIT, LibriSpeech, plain WAV/FLAC/OGG).

Speakers come from the file paths (:func:`speaker_of`), splits from
``audiolrp-splits.json`` or :func:`assign_splits`.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from audiolrp.constants import FS_HZ
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.simulation.corpora import corpus_choices
from audiolrp.simulation.speech.audio import load_speech_file
from audiolrp.simulation.speech.base import SPLITS, SpeechCorpus, _check_split

AUDIO_SUFFIXES: frozenset[str] = frozenset({".wav", ".flac", ".ogg", ".sph", ".nist", ".aiff"})
SPLITS_FILE = "audiolrp-splits.json"
LICENCE_FILE = "LICENCE.txt"


class SpeechFileWarning(UserWarning):
    """A speech file was skipped (the message names the file and the reason)."""



def _hash01(text: str) -> float:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:12], 16) / float(16**12)


def speaker_of(rel: Path) -> tuple[str, str | None] | None:
    """Speaker id and fixed split (or ``None``) of a corpus file from its relative path.

    * TIMIT (``.../TRAIN|TEST/DRn/SPKR/UTT.WAV``): speaker = ``SPKR`` (parent folder), split
      fixed to ``train`` for TRAIN (val is then carved from it) and ``test`` for TEST;
      ``SA1``/``SA2`` (read by every speaker) return ``None`` (dropped).
    * LibriSpeech (``SPK/CHAPTER/SPK-CHAPTER-UTT.flac``): speaker = ``SPK`` (grandparent).
    * otherwise: speaker = the parent folder's path relative to the corpus root.
    """
    parts = rel.parts
    upper = [p.upper() for p in parts]
    stem = rel.stem
    if len(parts) >= 4 and upper[-4] in ("TRAIN", "TEST") and upper[-3].startswith("DR"):
        if stem.upper() in ("SA1", "SA2"):
            return None
        return parts[-2], ("train" if upper[-4] == "TRAIN" else "test")
    bits = stem.split("-")
    if (
        len(parts) >= 3
        and len(bits) == 3
        and all(b.isdigit() for b in bits)
        and bits[0] == parts[-3]
        and bits[1] == parts[-2]
    ):
        return parts[-3], None
    parent = Path(*parts[:-1]).as_posix() if len(parts) > 1 else "."
    return parent, None


def assign_splits(
    speakers: list[str], fixed: dict[str, str] | None = None, *, fraction: float = 0.1
) -> dict[str, str]:
    """Deterministic speaker-disjoint split.

    Free speakers are ordered by the SHA-1 of their id; the first ``max(1, round(f n))`` go to
    test, the next ``max(1, round(f n))`` to val, the rest to train (``f = fraction``). Speakers
    with a fixed split keep it, except that when no free speaker is available for val, val is
    carved the same way from the fixed-train speakers (TIMIT: val from TRAIN, test = TEST).

    Raises
    ------
    DatasetError
        Fewer than 3 speakers, or a split ends up empty.
    """
    fixed = dict(fixed or {})
    if len(speakers) < 3:
        raise DatasetError(
            f"{len(speakers)} usable speaker(s); a speaker-disjoint train/val/test split needs "
            "at least 3: add speech files in one folder per speaker"
        )
    free = sorted((s for s in speakers if s not in fixed), key=lambda s: (_hash01(s), s))
    out = {s: fixed[s] for s in speakers if s in fixed}
    has = {sp: any(v == sp for v in out.values()) for sp in SPLITS}
    k = max(1, round(fraction * len(speakers)))
    for sp in ("test", "val"):
        if not has[sp]:
            take, free = free[:k], free[k:]
            if not take and sp == "val":  # TIMIT-like: carve val out of fixed train speakers
                tr = sorted((s for s, v in out.items() if v == "train"), key=_hash01)
                take = tr[: max(1, round(fraction * len(tr)))] if len(tr) > 1 else []
            for s in take:
                out[s] = sp
    for s in free:
        out[s] = "train"
    for sp in SPLITS:
        if not any(v == sp for v in out.values()):
            raise DatasetError(
                f"split {sp!r} has no speakers ({len(speakers)} speakers in all); add speakers "
                f"or list them in {SPLITS_FILE}"
            )
    return out


#: Default pool budgets (seconds of audio per split). One hour of training speech is 230 MB of
#: float32; the Debian corpus's 36 training "speakers" then contribute all their files up to
#: about 6 minutes each. (The earlier 600 s left about 17 s per speaker: every training scene
#: of a run came from the same 10 minutes of speech.)
DEFAULT_POOL_S: dict[str, float] = {"train": 3600.0, "val": 600.0, "test": 600.0}


class DirectoryCorpus(SpeechCorpus):
    """Any directory of speech files (TIMIT, LibriSpeech, plain WAV/FLAC/OGG).

    Files are found recursively (hidden folders ignored); speakers by :func:`speaker_of`;
    splits by ``<root>/audiolrp-splits.json`` if present (``{"train": [...], "val": [...],
    "test": [...], "default": "train"}``; unlisted speakers go to ``default`` or, without it,
    through :func:`assign_splits`) else by :func:`assign_splits`.

    Pools hold at most ``pool_s[split]`` seconds (default :data:`DEFAULT_POOL_S`): the files
    of each speaker are shuffled with ``seed``, and the speaker with the fewest pooled seconds
    adds its next file until the budget is reached, so every speaker contributes and speakers
    with enough speech hold equal time. Bad files (unreadable, truncated, not mono, below
    16 kHz, silent) are skipped with a
    :class:`SpeechFileWarning` naming the file and the reason.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        seed: int = 0,
        pool_s: dict[str, float] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DatasetError(
                f"speech corpus directory {self.root} does not exist; pass "
                f"{corpus_choices()}"
            )
        self.seed = int(seed)
        self.name = name or self.root.name
        self.pool_s = {**DEFAULT_POOL_S, **(pool_s or {})}
        self.licence = self._read_licence()
        self._files: dict[str, list[Path]] = {}
        fixed: dict[str, str] = {}
        for p in sorted(self.root.rglob("*")):
            rel = p.relative_to(self.root)
            if p.suffix.lower() not in AUDIO_SUFFIXES or any(
                part.startswith(".") for part in rel.parts
            ):
                continue
            if not p.is_file():
                continue
            who = speaker_of(rel)
            if who is None:
                continue
            spk, fx = who
            self._files.setdefault(spk, []).append(p)
            if fx is not None:
                fixed[spk] = fx
        if not self._files:
            raise DatasetError(
                f"no speech files (.wav/.flac/.ogg/.sph) under {self.root}; point audiolrp at a "
                "speech corpus folder"
            )
        fixed.update(self._splits_file())
        default = self._default_split
        if default is not None:
            for s in self._files:
                fixed.setdefault(s, default)
        self._assign = assign_splits(sorted(self._files), fixed)
        self._info: dict[str, dict] | None = None

    _default_split: str | None = None

    def _read_licence(self) -> str:
        for cand in (LICENCE_FILE, "LICENSE.txt", "LICENSE", "LICENCE"):
            f = self.root / cand
            if f.is_file():
                lines = [ln.strip() for ln in f.read_text(errors="replace").splitlines()]
                return next((ln for ln in lines if ln), "see " + str(f))
        return "unknown (user-supplied directory; check the corpus' own licence)"

    def _splits_file(self) -> dict[str, str]:
        f = self.root / SPLITS_FILE
        if not f.is_file():
            return {}
        try:
            d = json.loads(f.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DatasetError(f"{f} is not valid JSON ({err}); fix or delete it") from err
        out = {}
        for sp in SPLITS:
            for s in d.get(sp, []):
                out[str(s)] = sp
        if d.get("default") is not None:
            if d["default"] not in SPLITS:
                raise DatasetError(f"{f}: default split must be train, val or test")
            self._default_split = d["default"]
        return out

    def speakers(self, split: str) -> list[str]:
        """Speaker names of ``split``."""
        _check_split(split)
        return sorted(s for s, v in self._assign.items() if v == split)

    def files(self, split: str) -> list[Path]:
        """All candidate files of ``split`` (before bad-file filtering)."""
        return [f for s in self.speakers(split) for f in self._files[s]]

    def _load_utterances(self, split: str) -> list[tuple[str, np.ndarray]]:
        spks = self.speakers(split)
        rng = np.random.default_rng([self.seed, SPLITS.index(split)])
        queues = {
            s: [self._files[s][i] for i in rng.permutation(len(self._files[s]))] for s in spks
        }
        budget = self.pool_s[split] * FS_HZ
        total = 0
        utts: list[tuple[str, np.ndarray]] = []
        # the speaker with the fewest pooled samples takes its next file (ties: speaker order)
        heap = [(0, i) for i, s in enumerate(spks) if queues[s]]
        heapq.heapify(heap)
        while total < budget and heap:
            held, i = heapq.heappop(heap)
            s = spks[i]
            f = queues[s].pop(0)
            try:
                y = load_speech_file(f)
            except AudioLRPError as err:
                warnings.warn(f"skipping speech file {err}", SpeechFileWarning, stacklevel=3)
                y = np.zeros(0, np.float32)
            if len(y):
                utts.append((s, y))
                total += len(y)
            if queues[s]:
                heapq.heappush(heap, (held + len(y), i))
        return utts

    def describe(self) -> dict:
        """A JSON-ready description of the corpus."""
        if self._info is None:
            info: dict[str, dict] = {}
            for split in SPLITS:
                secs, n = 0.0, 0
                for f in self.files(split):
                    try:
                        secs += sf.info(str(f)).duration
                        n += 1
                    except Exception:  # noqa: BLE001 - unreadable: counted as skipped
                        continue
                info[split] = self._split_summary(split, n, secs / 3600)
            self._info = info
        return {
            "name": self.name,
            "licence": self.licence,
            "root": str(self.root),
            "seed": self.seed,
            "splits": self._info,
        }

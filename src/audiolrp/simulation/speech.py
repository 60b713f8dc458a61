"""Speech corpora: 1-s speech-active segments at 16 kHz for scene generation.

The paper's models are trained on "one-second segments of speech signals sampled at 16 kHz"
(Sec. 2, TIMIT [12]) convolved with HOA room impulse responses, plus diffuse babble noise
"created by averaging speech signals". This module supplies those speech signals.

Sources (:func:`open_corpus`)
-----------------------------
``None`` / ``"espeak"``
    :class:`EspeakCorpus`: synthetic speakers from eSpeak NG (pip only, always available).
``"debian"``
    The directory written by ``audiolrp corpus debian`` (:func:`build_debian_corpus`): real
    recorded speech from Debian packages (Asterisk prompts CC-BY-SA-3.0, Fish Fillets dialogue
    GPL-2).
any other string / path
    :class:`DirectoryCorpus`: TIMIT, LibriSpeech or any directory of WAV/FLAC/OGG/SPHERE files.

Design
------
*Splits* are speaker-disjoint (see :func:`assign_splits`). *Pools*: on the first request for a
split, a memory-bounded pool of utterances is loaded / synthesised (default: <= 600 s of audio
for ``train``, <= 150 s for ``val``/``test`` of a directory corpus; ~12 s per synthetic speaker),
resampled to 16 kHz mono float32, each utterance zero-padded to whole 20-ms frames. Energy VAD
(:func:`vad_activity`) marks active frames; for each segment length the admissible start frames
(windows with >= :data:`MIN_ACTIVE_FRACTION` active frames, not crossing utterance ends) are
indexed once per speaker. A segment then costs one ``rng`` draw for the speaker, one for the
start, one for a sub-frame jitter and a slice: ~10 us, far below the 1 ms budget.

*Sampling*: speaker uniformly among the split's usable speakers, then an admissible window
uniformly. *Normalisation*: each segment is scaled to unit RMS over its VAD-active frames
(so a segment with 50 % pauses has the same speech level as a continuous one).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from audiolrp.audio_io import read_audio, resample, write_audio
from audiolrp.constants import FS_HZ
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.io import atomic_write_text, json_text
from audiolrp.simulation.speech_synthesis import (
    ESPEAK_ACCENTS,
    ESPEAK_FS_HZ,
    ESPEAK_VARIANTS,
    VoiceSpec,
    synthesize_batch,
)

SPLITS: tuple[str, ...] = ("train", "val", "test")
#: VAD frame length (20 ms at 16 kHz; equals the STFT hop).
VAD_FRAME_SAMPLES: int = 320
#: A frame is active if its energy is within this many dB of the utterance's reference
#: energy (95th percentile of frame energies).
VAD_THRESHOLD_DB: float = 30.0
#: Minimum fraction of active VAD frames in a segment.
MIN_ACTIVE_FRACTION: float = 0.5
#: Files whose peak magnitude is below this (full scale = 1) are "silent".
SILENT_PEAK: float = 1e-4
#: Lowest accepted input sample rate (lower rates lack the 16-kHz band).
MIN_FS_HZ: int = 16_000
AUDIO_SUFFIXES: frozenset[str] = frozenset({".wav", ".flac", ".ogg", ".sph", ".nist", ".aiff"})
SPLITS_FILE = "audiolrp-splits.json"
LICENCE_FILE = "LICENCE.txt"


class SpeechFileWarning(UserWarning):
    """A speech file was skipped (the message names the file and the reason)."""


# --------------------------------------------------------------------------- signal helpers


def resample_to(x: np.ndarray, fs_in_hz: int, fs_out_hz: int = FS_HZ) -> np.ndarray:
    """Resample along the last axis to float32 (:func:`audiolrp.audio_io.resample`).

    The ratio is reduced exactly (22050 -> 16000 is up 320, down 441).

    Returns
    -------
    np.ndarray
        float32 signal at ``fs_out_hz``.
    """
    x = np.asarray(x, dtype=np.float32)
    if fs_in_hz == fs_out_hz:
        return x
    return resample(x, fs_in_hz, fs_out_hz).astype(np.float32)


def frame_energy(x: np.ndarray, frame: int = VAD_FRAME_SAMPLES) -> np.ndarray:
    """Mean-square energy of consecutive non-overlapping frames (a trailing partial frame is
    zero-padded)."""
    n = -(-len(x) // frame)
    buf = np.zeros(n * frame, dtype=np.float32)
    buf[: len(x)] = x
    return np.mean(buf.reshape(n, frame).astype(np.float64) ** 2, axis=1).astype(np.float32)


def vad_activity(
    x: np.ndarray,
    *,
    frame: int = VAD_FRAME_SAMPLES,
    threshold_db: float = VAD_THRESHOLD_DB,
    energies: np.ndarray | None = None,
) -> np.ndarray:
    """Energy voice-activity detection.

    Frame ``i`` is active iff ``10 log10(E_i / E_ref) >= -threshold_db`` where ``E_ref`` is the
    95th percentile of the frame energies of ``x`` (robust to clicks) and ``E_i > 0``.

    Returns
    -------
    np.ndarray of bool, shape (ceil(len(x) / frame),)
    """
    e = frame_energy(x, frame) if energies is None else energies
    if e.size == 0:
        return np.zeros(0, dtype=bool)
    ref = float(np.percentile(e, 95))
    if ref <= 0:
        return np.zeros(e.shape, dtype=bool)
    return (e > 0) & (e >= ref * 10.0 ** (-threshold_db / 10.0))


def active_window_starts(active: np.ndarray, n_frames: int, min_fraction: float) -> np.ndarray:
    """Start indices ``s`` with ``mean(active[s:s+n_frames]) >= min_fraction`` (full windows)."""
    if len(active) < n_frames:
        return np.zeros(0, dtype=np.int64)
    c = np.concatenate([[0], np.cumsum(active, dtype=np.int64)])
    counts = c[n_frames:] - c[:-n_frames]
    return np.nonzero(counts >= int(np.ceil(min_fraction * n_frames - 1e-9)))[0].astype(np.int64)


def decode_g722(data: bytes) -> np.ndarray:
    """Decode a raw G.722 stream (64 kbit/s, as in Asterisk's ``*.g722`` prompts) to float32
    samples at 16 kHz in [-1, 1), with the pip package ``g722``."""
    try:
        import G722  # noqa: PLC0415 - native codec, loaded only to decode G.722
    except ImportError as err:  # pragma: no cover - dependency of the package
        raise AudioLRPError("the g722 package is missing: pip install g722") from err
    pcm = G722.G722(16000, 64000).decode(bytes(data))
    return np.asarray(pcm, dtype=np.int16).astype(np.float32) / 32768.0


def load_speech_file(path: str | os.PathLike, *, downmix: bool = False) -> np.ndarray:
    """Read, validate and resample one speech file to 16 kHz mono float32.

    ``downmix=True`` averages the channels of a multichannel file instead of rejecting it
    (used for the Fish Fillets dialogue, stored as stereo with identical content).

    Raises
    ------
    AudioLRPError
        Not readable as audio, truncated, not mono, sample rate below 16 kHz, silent, or shorter
        than one VAD frame. :class:`DirectoryCorpus` turns these into skipped-file warnings.
    """
    p = Path(path)
    x, fs = read_audio(
        p, "float32", check_truncation=False,
        unreadable="{path}: unreadable or truncated audio ({reason})",
    )
    if x.shape[1] != 1 and downmix:
        x = x.mean(axis=1, keepdims=True)
    if x.shape[1] != 1:
        raise AudioLRPError(f"{p}: has {x.shape[1]} channels; speech files must be mono")
    if fs < MIN_FS_HZ:
        raise AudioLRPError(f"{p}: sample rate {fs} Hz is below {MIN_FS_HZ} Hz")
    y = resample_to(x[:, 0], fs)
    if not np.all(np.isfinite(y)):
        raise AudioLRPError(f"{p}: contains NaN/inf samples")
    if len(y) < VAD_FRAME_SAMPLES:
        raise AudioLRPError(f"{p}: too short ({len(y)} samples at 16 kHz)")
    if float(np.max(np.abs(y))) < SILENT_PEAK:
        raise AudioLRPError(f"{p}: is silent")
    return y


# --------------------------------------------------------------------------- pools


@dataclass
class _Pool:
    """Concatenated utterances of one split (see module docstring)."""

    audio: np.ndarray  # float32, all utterances, each padded to whole frames
    energy: np.ndarray  # float32 per frame
    active: np.ndarray  # bool per frame
    speakers: list[str]  # usable speakers (>= 1 utterance)
    utt_speaker: np.ndarray  # int per utterance (index into speakers)
    utt_frames: np.ndarray  # (n_utt, 2) [start, end) global frame indices
    starts: dict[int, list[np.ndarray]] = field(default_factory=dict)
    usable: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(cls, utterances: list[tuple[str, np.ndarray]], min_samples: int) -> _Pool:
        speakers = sorted({s for s, _ in utterances})
        idx = {s: i for i, s in enumerate(speakers)}
        chunks, energies, actives, utt_spk, utt_fr = [], [], [], [], []
        pos = 0
        for spk, y in utterances:
            n = max(len(y), min_samples + VAD_FRAME_SAMPLES)
            n = -(-n // VAD_FRAME_SAMPLES) * VAD_FRAME_SAMPLES
            buf = np.zeros(n, dtype=np.float32)
            off = (n - len(y)) // 2 // VAD_FRAME_SAMPLES * VAD_FRAME_SAMPLES
            buf[off : off + len(y)] = y
            e = frame_energy(buf)
            chunks.append(buf)
            energies.append(e)
            actives.append(vad_activity(buf, energies=e))
            utt_spk.append(idx[spk])
            utt_fr.append((pos, pos + len(e)))
            pos += len(e)
        return cls(
            audio=np.concatenate(chunks) if chunks else np.zeros(0, np.float32),
            energy=np.concatenate(energies) if energies else np.zeros(0, np.float32),
            active=np.concatenate(actives) if actives else np.zeros(0, bool),
            speakers=speakers,
            utt_speaker=np.asarray(utt_spk, dtype=np.int64),
            utt_frames=np.asarray(utt_fr, dtype=np.int64).reshape(-1, 2),
        )

    def window_starts(self, n_frames: int) -> list[np.ndarray]:
        """Per speaker: global start frames of admissible windows of ``n_frames`` frames (one
        spare frame for the sub-frame jitter)."""
        if n_frames not in self.starts:
            per: list[list[np.ndarray]] = [[] for _ in self.speakers]
            for (a, b), s in zip(self.utt_frames, self.utt_speaker, strict=True):
                ok = active_window_starts(self.active[a:b], n_frames, MIN_ACTIVE_FRACTION)
                ok = ok[ok <= (b - a) - n_frames - 1]  # spare frame for the jitter
                if len(ok):
                    per[s].append(a + ok)
            self.starts[n_frames] = [np.concatenate(p) if p else np.zeros(0, np.int64) for p in per]
            self.usable[n_frames] = np.array(
                [i for i, st in enumerate(self.starts[n_frames]) if len(st)], dtype=np.int64
            )
        return self.starts[n_frames]

    def seconds(self) -> float:
        return len(self.audio) / FS_HZ


# --------------------------------------------------------------------------- corpus base


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise AudioLRPError(f"unknown split {split!r}; use one of train, val, test")


class SpeechCorpus(ABC):
    """A speaker-split speech corpus yielding 1-s speech-active segments at 16 kHz.

    Subclasses provide :meth:`speakers`, :meth:`describe` and :meth:`_load_utterances`; pooling,
    VAD indexing and sampling are shared (see the module docstring).

    Attributes
    ----------
    name : str
        Short identifier of the corpus.
    licence : str
        Licence of the audio (one line).
    """

    name: str = "speech"
    licence: str = "unknown"

    def __init__(self) -> None:
        self._pools: dict[str, _Pool] = {}
        self._pool_lock = threading.Lock()

    # -- to implement
    @abstractmethod
    def speakers(self, split: str) -> list[str]:
        """Speaker ids of ``split`` (``"train"``, ``"val"`` or ``"test"``); disjoint splits."""

    @abstractmethod
    def describe(self) -> dict:
        """Counts, hours and speakers per split (JSON-serialisable)."""

    @abstractmethod
    def _load_utterances(self, split: str) -> list[tuple[str, np.ndarray]]:
        """(speaker, 16-kHz float32 signal) pairs forming the pool of ``split``."""

    # -- shared
    def __getstate__(self) -> dict:
        """Picklable (e.g. for DataLoader workers): the lock is recreated, pools are kept."""
        state = dict(self.__dict__)
        state.pop("_pool_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._pool_lock = threading.Lock()

    def pool(self, split: str) -> _Pool:
        """The (lazily built, cached) utterance pool of ``split``."""
        _check_split(split)
        with self._pool_lock:
            if split not in self._pools:
                utts = self._load_utterances(split)
                pool = _Pool.build(utts, FS_HZ)
                if not pool.speakers or pool.seconds() == 0:
                    raise DatasetError(
                        f"corpus {self.name} has no usable speech in split {split!r}; "
                        "add speech files for more speakers"
                    )
                self._pools[split] = pool
            return self._pools[split]

    def _usable(self, split: str, n_samples: int) -> tuple[_Pool, list[np.ndarray], np.ndarray]:
        pool = self.pool(split)
        n_frames = -(-n_samples // VAD_FRAME_SAMPLES)
        starts = pool.window_starts(n_frames)
        usable = pool.usable[n_frames]
        if len(usable) == 0:
            raise DatasetError(
                f"corpus {self.name}, split {split!r}: no utterance holds {n_samples} samples "
                "with enough speech activity; use shorter segments or longer files"
            )
        return pool, starts, usable

    def _draw(
        self, split: str, rng: np.random.Generator, n: int, duration_s: float = 1.0
    ) -> tuple[np.ndarray, list[str], np.ndarray]:
        """Core of :meth:`sample_segments`: (segments, speaker ids, pool sample offsets)."""
        n_samples = int(round(duration_s * FS_HZ))
        if n_samples <= 0 or n < 0:
            raise AudioLRPError(f"bad segment request n={n}, duration_s={duration_s}")
        pool, starts, usable = self._usable(split, n_samples)
        if n <= len(usable):
            spk = rng.choice(usable, size=n, replace=False)
        else:
            spk = usable[rng.integers(0, len(usable), size=n)]
        n_frames = -(-n_samples // VAD_FRAME_SAMPLES)
        frame0 = np.array([starts[s][rng.integers(0, len(starts[s]))] for s in spk], np.int64)
        jitter = rng.integers(0, VAD_FRAME_SAMPLES, size=n)
        s0 = frame0 * VAD_FRAME_SAMPLES + jitter
        out = pool.audio[s0[:, None] + np.arange(n_samples)[None, :]]
        fr = frame0[:, None] + np.arange(n_frames)[None, :]
        act = pool.active[fr]
        e = np.where(act, pool.energy[fr], 0.0).sum(axis=1) / np.maximum(act.sum(axis=1), 1)
        gain = 1.0 / np.sqrt(np.maximum(e, 1e-12))
        seg = (out * gain[:, None].astype(np.float32)).astype(np.float32, copy=False)
        return seg, [pool.speakers[k] for k in spk], s0

    def sample_segments(
        self, split: str, rng: np.random.Generator, n: int, duration_s: float = 1.0
    ) -> np.ndarray:
        """``n`` segments of independent talkers (distinct speakers while ``n`` <= the number of
        usable speakers, e.g. for babble noise).

        Parameters
        ----------
        split : {"train", "val", "test"}
        rng : np.random.Generator
            The only source of randomness: equal generator states give equal output.
        n : int
            Number of segments.
        duration_s : float
            Segment length; ``round(duration_s * 16000)`` samples.

        Returns
        -------
        np.ndarray
            float32, shape (n, round(duration_s * 16000)); each row has >= 50 % VAD-active
            20-ms frames and unit RMS over its active frames.
        """
        return self._draw(split, rng, n, duration_s)[0]

    def sample_segment(
        self, split: str, rng: np.random.Generator, duration_s: float = 1.0
    ) -> np.ndarray:
        """One speech-active segment, float32 of ``round(duration_s * 16000)`` samples.

        Same draws as the ``n = 1`` row of :meth:`sample_segments`; the speaker and position
        are then available from :meth:`last_segment_info`.
        """
        seg, spk, s0 = self._draw(split, rng, 1, duration_s)
        self._last_info = {
            "speaker": spk[0],
            "split": split,
            "pool_offset_s": round(float(s0[0]) / FS_HZ, 5),
        }
        return seg[0]

    def last_segment_info(self) -> dict:
        """Speaker (and pool position) of the latest :meth:`sample_segment` result ({} before
        the first call; not tracked for :meth:`sample_segments`)."""
        return dict(getattr(self, "_last_info", {}))

    def _split_summary(self, split: str, files: int, hours: float) -> dict:
        return {"speakers": len(self.speakers(split)), "files": files, "hours": round(hours, 4)}


# --------------------------------------------------------------------------- espeak corpus

_WORDS: list[str] | None = None


def word_list() -> list[str]:
    """English words shipped with audiolrp (``audiolrp/simulation/speech_words.txt``, SCOWL)."""
    global _WORDS
    if _WORDS is None:
        path = Path(__file__).parent / "speech_words.txt"
        _WORDS = [
            w.strip()
            for w in path.read_text(encoding="utf-8").splitlines()
            if w.strip() and not w.startswith("#")
        ]
    return _WORDS


class EspeakCorpus(SpeechCorpus):
    """Synthetic speakers from eSpeak NG (the embedded default corpus).

    A speaker is an English accent x voice variant (distinct combinations while possible) with
    base pitch, pitch range and speaking rate drawn from ``seed``. Speakers are split in order
    of a seeded permutation: ``round(n/6)`` val, ``round(n/6)`` test, the rest train (60 ->
    40/10/10). Each speaker reads ``utterances_per_speaker`` random word sequences (10-16 words
    from :func:`word_list`, occasional commas) at ~900x real time.

    The pool of a split is synthesised in one fresh worker process
    (:func:`audiolrp.simulation.speech_synthesis.synthesize_batch`), so it is a deterministic
    function of
    ``(seed, n_speakers, utterances_per_speaker, split)``.
    """

    name = "espeak"
    licence = (
        "synthetic speech generated with eSpeak NG (GPL-3.0-or-later) from SCOWL words "
        "(permissive, see audiolrp/simulation/speech_words.txt)"
    )

    def __init__(
        self, *, seed: int = 0, n_speakers: int = 60, utterances_per_speaker: int = 3
    ) -> None:
        super().__init__()

        if n_speakers < 3:
            raise AudioLRPError(f"n_speakers={n_speakers}; a train/val/test split needs >= 3")
        self.seed = int(seed)
        self.utterances_per_speaker = int(utterances_per_speaker)
        rng = np.random.default_rng([self.seed, 0x5EEC])
        combos = [f"{a}+{v}" for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS]
        order = rng.permutation(len(combos))
        self._specs: dict[str, VoiceSpec] = {}
        names: list[str] = []
        for i in range(n_speakers):
            voice = combos[order[i % len(combos)]]
            spec = VoiceSpec(
                voice=voice,
                rate_wpm=int(rng.integers(140, 201)),
                pitch=int(rng.integers(20, 81)),
                pitch_range=int(rng.integers(20, 81)),
            )
            name = f"{voice}-p{spec.pitch}r{spec.pitch_range}s{spec.rate_wpm}-{i:03d}"
            self._specs[name] = spec
            names.append(name)
        n_val = n_test = max(1, round(n_speakers / 6))
        self._split = {
            "val": names[:n_val],
            "test": names[n_val : n_val + n_test],
            "train": names[n_val + n_test :],
        }

    def speakers(self, split: str) -> list[str]:
        """Speaker names of ``split``."""
        _check_split(split)
        return list(self._split[split])

    def voice_spec(self, speaker: str) -> VoiceSpec:
        """The :class:`~audiolrp.simulation.speech_synthesis.VoiceSpec` of ``speaker``."""
        return self._specs[speaker]

    def texts(self, speaker: str) -> list[str]:
        """The sentences ``speaker`` reads (deterministic in ``seed`` and the speaker)."""
        words = word_list()
        idx = int(speaker.rsplit("-", 1)[1])
        rng = np.random.default_rng([self.seed, 0x7E47, idx])
        out = []
        for _ in range(self.utterances_per_speaker):
            n = int(rng.integers(10, 17))
            ws = [words[int(k)] for k in rng.integers(0, len(words), size=n)]
            for j in range(2, n - 2):
                if rng.random() < 0.12:
                    ws[j] += ","
            out.append(" ".join(ws).capitalize() + ".")
        return out

    def _load_utterances(self, split: str) -> list[tuple[str, np.ndarray]]:

        spks = self._split[split]
        jobs = [(self._specs[s], self.texts(s)) for s in spks]
        audio = synthesize_batch(jobs)
        utts = []
        for s, ys in zip(spks, audio, strict=True):
            for y in ys:
                utts.append((s, resample_to(y.astype(np.float32) / 32768.0, ESPEAK_FS_HZ)))
        return utts

    def describe(self) -> dict:
        """A JSON-ready description of the corpus."""
        out: dict = {"name": self.name, "licence": self.licence, "seed": self.seed, "splits": {}}
        for split in SPLITS:
            pool = self.pool(split)
            out["splits"][split] = self._split_summary(
                split, len(pool.utt_speaker), pool.seconds() / 3600
            )
        return out


# --------------------------------------------------------------------------- directory corpus


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


class DirectoryCorpus(SpeechCorpus):
    """Any directory of speech files (TIMIT, LibriSpeech, plain WAV/FLAC/OGG).

    Files are found recursively (hidden folders ignored); speakers by :func:`speaker_of`;
    splits by ``<root>/audiolrp-splits.json`` if present (``{"train": [...], "val": [...],
    "test": [...], "default": "train"}``; unlisted speakers go to ``default`` or, without it,
    through :func:`assign_splits`) else by :func:`assign_splits`.

    Pools hold at most ``pool_s[split]`` seconds: the files of each speaker are shuffled with
    ``seed`` and taken round-robin over speakers, so every speaker contributes. Bad files
    (unreadable, truncated, not mono, below 16 kHz, silent) are skipped with a
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
                f"speech corpus directory {self.root} does not exist; pass a folder of speech "
                "files, 'espeak' or 'debian'"
            )
        self.seed = int(seed)
        self.name = name or self.root.name
        self.pool_s = {"train": 600.0, "val": 150.0, "test": 150.0, **(pool_s or {})}
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
        pos = 0
        while total < budget and any(pos < len(q) for q in queues.values()):
            for s in spks:
                if pos >= len(queues[s]) or total >= budget:
                    continue
                f = queues[s][pos]
                try:
                    y = load_speech_file(f)
                except AudioLRPError as err:
                    warnings.warn(f"skipping speech file {err}", SpeechFileWarning, stacklevel=3)
                    continue
                utts.append((s, y))
                total += len(y)
            pos += 1
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


# --------------------------------------------------------------------------- entry point


def default_debian_dir() -> Path:
    """``$AUDIOLRP_DEBIAN_CORPUS`` or ``$XDG_CACHE_HOME/audiolrp/debian-speech`` (default
    ``~/.cache/audiolrp/debian-speech``)."""
    env = os.environ.get("AUDIOLRP_DEBIAN_CORPUS")
    if env:
        return Path(env).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser()
    return cache / "audiolrp" / "debian-speech"


def open_corpus(spec: str | os.PathLike | None = None, *, seed: int = 0) -> SpeechCorpus:
    """Open a speech corpus.

    Parameters
    ----------
    spec : None, "espeak", "debian", or a directory
        ``None``/``"espeak"``: :class:`EspeakCorpus`; ``"debian"``: the corpus written by
        ``audiolrp corpus debian`` in :func:`default_debian_dir`; anything else: a
        :class:`DirectoryCorpus`.
    seed : int
        Chooses synthetic speakers/texts, or the files pooled from a large directory. Splits of
        directory corpora do not depend on it.
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "espeak"):
        return EspeakCorpus(seed=seed)
    if isinstance(spec, str) and spec.strip().lower() == "debian":
        d = default_debian_dir()
        if not (d / "MANIFEST.tsv").is_file():
            raise DatasetError(
                f"the Debian speech corpus is not at {d}; run `audiolrp corpus debian` (or set "
                "AUDIOLRP_DEBIAN_CORPUS)"
            )
        return DirectoryCorpus(d, seed=seed, name="debian")
    return DirectoryCorpus(spec, seed=seed)


# --------------------------------------------------------------------------- Debian builder

ASTERISK_LANGS: tuple[str, ...] = ("en", "es", "fr", "it", "ru")
FILLETS_LANGS: tuple[str, ...] = ("cs", "nl")
DEBIAN_PACKAGES: tuple[str, ...] = tuple(
    f"asterisk-core-sounds-{lang}-g722" for lang in ASTERISK_LANGS
) + tuple(f"fillets-ng-data-{lang}" for lang in FILLETS_LANGS)
DEBIAN_LICENCES = {
    "asterisk": "CC-BY-SA-3.0 (Asterisk core sound prompts, Digium/Sangoma; Debian "
    "asterisk-core-sounds-*-g722)",
    "fillets": "GPL-2 (Fish Fillets NG game data, Debian fillets-ng-data-*)",
}


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as err:
        raise AudioLRPError(
            f"{cmd[0]} not found; `audiolrp corpus debian` needs a Debian/Ubuntu system with apt "
            "(or use the espeak corpus / your own speech folder)"
        ) from err
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise AudioLRPError(
            f"`{' '.join(cmd)}` failed: {tail[-1] if tail else proc.returncode}"
            + ("; run `apt-get update` first" if cmd[0] == "apt-get" else "")
        )


def _write_flac(path: Path, y: np.ndarray) -> None:
    write_audio(path, np.clip(y, -1.0, 32767 / 32768), FS_HZ, subtype="PCM_16", format="FLAC")


def fillets_speaker(lang: str, level: str, stem: str) -> str:
    """Speaker of a Fish Fillets line ``sound/<level>/<lang>/<stem>.ogg``.

    The two lead fish (character token ``m`` small, ``v`` big, first or second in
    ``<prefix>-<character>-<line>``) are one speaker each per language; all other lines of a
    level (minor characters) form one speaker ``fillets-<lang>-<level>``.
    """
    bits = stem.split("-")
    if bits[0] in ("m", "v"):
        return f"fillets-{lang}-{bits[0]}"
    if len(bits) >= 3 and bits[1] in ("m", "v"):
        return f"fillets-{lang}-{bits[1]}"
    return f"fillets-{lang}-{level}"


def debian_split(speaker: str) -> str:
    """Split of a Debian-corpus speaker: held-out voices and languages.

    val: ``asterisk-ru``; test: ``asterisk-it`` and all Dutch Fish Fillets voices (leads and
    minor characters, who may share actors, stay together); train: everything else (Asterisk
    en/es/fr, all Czech Fish Fillets voices).
    """
    if speaker == "asterisk-ru":
        return "val"
    if speaker == "asterisk-it" or speaker.startswith("fillets-nl-"):
        return "test"
    return "train"


def _convert_package(
    pkg: str, root: Path, out: Path, log: Callable[[str], None]
) -> list[tuple[str, str, float]]:
    rows: list[tuple[str, str, float]] = []
    if pkg.startswith("asterisk-core-sounds-"):
        lang = pkg.split("-")[3]
        spk = f"asterisk-{lang}"
        for f in sorted(root.rglob("*.g722")):
            rel = f.relative_to(root)
            name = "__".join(rel.parts[5:]) if len(rel.parts) > 5 else f.name
            dst = out / spk / (Path(name).stem + ".flac")
            if not dst.exists():
                y = decode_g722(f.read_bytes())
                if len(y) < VAD_FRAME_SAMPLES or np.max(np.abs(y)) < SILENT_PEAK:
                    log(f"skipping {f.name}: empty or silent")
                    continue
                _write_flac(dst, y)
            rows.append((spk, dst.relative_to(out).as_posix(), sf.info(str(dst)).duration))
    else:
        lang = pkg.rsplit("-", 1)[1]
        for f in sorted(root.rglob("*.ogg")):
            spk = fillets_speaker(lang, f.parent.parent.name, f.stem)
            dst = out / spk / (f.stem + ".flac")
            if not dst.exists():
                try:
                    y = load_speech_file(f, downmix=True)
                except AudioLRPError as err:
                    log(f"skipping {err}")
                    continue
                _write_flac(dst, y)
            rows.append((spk, dst.relative_to(out).as_posix(), sf.info(str(dst)).duration))
    return rows


def build_debian_corpus(
    out_dir: str | os.PathLike | None = None,
    *,
    packages: tuple[str, ...] | list[str] = DEBIAN_PACKAGES,
    keep_debs: bool = False,
    log: Callable[[str], None] = print,
) -> dict:
    """Download Debian packages with recorded speech and write a directory corpus.

    ``apt-get download`` -> ``dpkg-deb -x`` -> G.722 decoding (Asterisk) or Ogg decoding and
    resampling (Fish Fillets) -> ``DIR/<speaker>/<file>.flac`` (16 kHz mono PCM-16), plus
    ``MANIFEST.tsv``, ``LICENCE.txt`` and ``audiolrp-splits.json`` (:func:`debian_split`).
    Resumable: converted files are kept and skipped; every file is written to a temporary name
    and renamed.

    Returns
    -------
    dict
        ``{"dir", "files", "hours", "speakers"}``.
    """
    out = Path(out_dir).expanduser() if out_dir is not None else default_debian_dir()
    out.mkdir(parents=True, exist_ok=True)
    debs, extract = out / ".debs", out / ".extract"
    debs.mkdir(exist_ok=True)
    rows: list[tuple[str, str, float]] = []
    used: set[str] = set()
    for pkg in packages:
        if pkg not in DEBIAN_PACKAGES:
            raise AudioLRPError(f"unknown package {pkg}; choose from {', '.join(DEBIAN_PACKAGES)}")
        used.add("asterisk" if pkg.startswith("asterisk") else "fillets")
        done = out / f".done-{pkg}"
        if done.exists():
            rows.extend(
                tuple(r.split("\t")[:2]) + (float(r.split("\t")[2]),)  # type: ignore[misc]
                for r in done.read_text().splitlines()
                if r
            )
            log(f"{pkg}: already converted")
            continue
        if not list(debs.glob(f"{pkg}_*.deb")):
            log(f"{pkg}: apt-get download")
            _run(["apt-get", "download", pkg], cwd=debs)
        deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
        tree = extract / pkg
        if tree.exists():
            shutil.rmtree(tree)
        tree.mkdir(parents=True)
        _run(["dpkg-deb", "-x", str(deb), str(tree)])
        log(f"{pkg}: converting")
        pkg_rows = _convert_package(pkg, tree, out, log)
        shutil.rmtree(tree)
        atomic_write_text(done, "".join(f"{s}\t{f}\t{d:.3f}\n" for s, f, d in pkg_rows))
        if not keep_debs:
            deb.unlink()
        rows.extend(pkg_rows)
        log(f"{pkg}: {len(pkg_rows)} files, {sum(r[2] for r in pkg_rows) / 60:.1f} min")
    if extract.exists():
        shutil.rmtree(extract)
    if not keep_debs and debs.exists() and not any(debs.iterdir()):
        debs.rmdir()
    manifest = "speaker\tfile\tduration_s\tlicence\n" + "".join(
        f"{s}\t{f}\t{d:.3f}\t{'CC-BY-SA-3.0' if s.startswith('asterisk') else 'GPL-2'}\n"
        for s, f, d in rows
    )
    licence = (
        "Recorded speech from Debian packages; licences per file in MANIFEST.tsv: "
        + "; ".join(DEBIAN_LICENCES[k] for k in sorted(used))
        + "\nBuilt by `audiolrp corpus debian` from: "
        + ", ".join(packages)
        + "\n"
    )
    spks = sorted({r[0] for r in rows})
    splits = {sp: [k for k in spks if debian_split(k) == sp] for sp in SPLITS}
    for name, text in (
        ("MANIFEST.tsv", manifest),
        (LICENCE_FILE, licence),
        (SPLITS_FILE, json_text(splits, indent=1, default=None)),
    ):
        atomic_write_text(out / name, text)
    return {
        "dir": str(out),
        "files": len(rows),
        "hours": round(sum(r[2] for r in rows) / 3600, 3),
        "speakers": len({r[0] for r in rows}),
    }

"""The speech-corpus base: speaker splits, utterance pools and segment sampling.

:class:`SpeechCorpus` is what every corpus (:mod:`.espeak`, :mod:`.directory`, the Debian
prompts of :mod:`.debian`) shares; a subclass only lists its speakers and loads utterances.

Design
------
*Splits* are speaker-disjoint (a directory corpus splits with
:func:`audiolrp.simulation.speech.directory.assign_splits`). *Pools*: on the first request for a
split, a memory-bounded pool of utterances is loaded / synthesised (default: <= 3600 s of audio
for ``train``, <= 600 s for ``val``/``test`` of a directory corpus; ~12 s per synthetic speaker),
resampled to 16 kHz mono float32, each utterance zero-padded to whole 20-ms frames. Energy VAD
(:func:`.audio.vad_activity`) marks active frames; for each segment length the admissible start
frames (windows with >= :data:`MIN_ACTIVE_FRACTION` active frames, not crossing utterance
ends) are indexed once per speaker. A segment then costs one ``rng`` draw for the speaker, one
for the start, one for a sub-frame jitter and a slice: ~10 us, far below the 1 ms budget.

*Sampling*: a speaker with probability proportional to its number of admissible windows in
the pool, then one of its windows uniformly: every admissible window of the pool is equally
likely. Pools are filled speaker-balanced (:class:`.directory.DirectoryCorpus` lets the
speaker holding the least audio add its next file), so speakers with plenty of speech are
drawn equally often and a
speaker with a few seconds (a one-file folder) only in proportion to them: its excerpts are
not repeated more often than anyone else's. (Drawing speakers uniformly gave a 2-s folder of
the Debian corpus 1/9 of all test scenes.)

*Normalisation*: each segment is scaled to unit RMS over its VAD-active frames (so a segment
with 50 % pauses has the same speech level as a continuous one).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from audiolrp.constants import FS_HZ
from audiolrp.errors import AudioLRPError, DatasetError
from audiolrp.simulation.speech.audio import (
    MIN_ACTIVE_FRACTION,
    VAD_FRAME_SAMPLES,
    active_window_starts,
    frame_energy,
    vad_activity,
)

SPLITS: tuple[str, ...] = ("train", "val", "test")


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
    weights: dict[int, np.ndarray] = field(default_factory=dict)  # speaker_weights(usable)

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
            if len(self.usable[n_frames]):
                self.weights[n_frames] = speaker_weights(
                    self.starts[n_frames], self.usable[n_frames]
                )
        return self.starts[n_frames]

    def seconds(self) -> float:
        return len(self.audio) / FS_HZ


def speaker_weights(starts: list[np.ndarray], usable: np.ndarray) -> np.ndarray:
    """Draw probability of each usable speaker: its share of the pool's admissible windows.

    Parameters
    ----------
    starts
        Per speaker (all of the pool's speakers), the admissible window starts
        (:meth:`_Pool.window_starts`).
    usable
        Indices of the speakers with at least one admissible window.

    Returns
    -------
    np.ndarray
        float64 probabilities of ``usable``'s speakers, summing to 1.
    """
    counts = np.array([len(starts[s]) for s in usable], dtype=np.float64)
    return counts / counts.sum()


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
        n_frames = -(-n_samples // VAD_FRAME_SAMPLES)
        spk = rng.choice(usable, size=n, replace=n > len(usable), p=pool.weights[n_frames])
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
        usable speakers, e.g. for babble noise; speakers drawn by :func:`speaker_weights`).

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

"""The eSpeak corpus: synthetic English speakers (the embedded default corpus).

The word list is package data of :mod:`audiolrp.simulation` (``speech_words.txt``); the
synthesis runs in a fresh process (:mod:`audiolrp.simulation.speech_synthesis`).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from audiolrp.errors import AudioLRPError
from audiolrp.simulation.speech.audio import resample_to
from audiolrp.simulation.speech.base import SPLITS, SpeechCorpus, _check_split
from audiolrp.simulation.speech_synthesis import (
    ESPEAK_ACCENTS,
    ESPEAK_FS_HZ,
    ESPEAK_VARIANTS,
    VoiceSpec,
    synthesize_batch,
)

_WORDS: list[str] | None = None


def word_list() -> list[str]:
    """English words shipped with audiolrp (``audiolrp/simulation/speech_words.txt``, SCOWL)."""
    global _WORDS
    if _WORDS is None:
        path = resources.files("audiolrp.simulation") / "speech_words.txt"
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

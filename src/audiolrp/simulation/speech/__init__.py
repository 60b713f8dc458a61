"""Speech corpora: 1-s speech-active segments at 16 kHz for scene generation.

The paper's models are trained on "one-second segments of speech signals sampled at 16 kHz"
(Sec. 2, TIMIT [12]) convolved with HOA room impulse responses, plus diffuse babble noise
"created by averaging speech signals". This package supplies those speech signals, one module
per concept:

:mod:`.audio`
    reading a speech file, resampling to 16 kHz, energy VAD.
:mod:`.base`
    :class:`SpeechCorpus`: speaker splits, utterance pools and segment sampling shared by all.
:mod:`.espeak`
    :class:`EspeakCorpus`: synthetic speakers from eSpeak NG (pip only, always available).
:mod:`.directory`
    :class:`DirectoryCorpus`: TIMIT, LibriSpeech or any directory of WAV/FLAC/OGG/SPHERE files.
:mod:`.debian`
    Debian's recorded prompts: :func:`build_debian_corpus` (``audiolrp corpus debian``) writes
    a directory corpus (Asterisk prompts CC-BY-SA-3.0, Fish Fillets dialogue GPL-2).

The amplitude-modulated noise "corpus" of fast tests is
:class:`audiolrp.simulation.scenes.NoiseCorpus`.

Sources (:func:`open_corpus`)
-----------------------------
a registered name (:mod:`audiolrp.simulation.corpora`: ``"espeak"``, the default;
``"debian"``, the directory written by ``audiolrp corpus debian``; ``"noise"``)
    that corpus (:func:`~audiolrp.simulation.corpora.register_corpus` adds one).
any other string / path
    :class:`DirectoryCorpus`.
"""

from __future__ import annotations

import os
from typing import cast

from audiolrp.errors import DatasetError
from audiolrp.simulation.corpora import DEFAULT_CORPUS, corpus_entry
from audiolrp.simulation.speech.audio import (
    MIN_ACTIVE_FRACTION,
    MIN_FS_HZ,
    SILENT_PEAK,
    VAD_FRAME_SAMPLES,
    VAD_THRESHOLD_DB,
    active_window_starts,
    frame_energy,
    load_speech_file,
    resample_to,
    vad_activity,
)
from audiolrp.simulation.speech.base import SPLITS, SpeechCorpus, speaker_weights
from audiolrp.simulation.speech.debian import (
    ASTERISK_LANGS,
    DEBIAN_LICENCES,
    DEBIAN_PACKAGES,
    FILLETS_LANGS,
    build_debian_corpus,
    debian_split,
    decode_g722,
    default_debian_dir,
    fillets_speaker,
)
from audiolrp.simulation.speech.directory import (
    AUDIO_SUFFIXES,
    DEFAULT_POOL_S,
    LICENCE_FILE,
    SPLITS_FILE,
    DirectoryCorpus,
    SpeechFileWarning,
    assign_splits,
    speaker_of,
)
from audiolrp.simulation.speech.espeak import EspeakCorpus, word_list

__all__ = [
    "ASTERISK_LANGS",
    "AUDIO_SUFFIXES",
    "DEBIAN_LICENCES",
    "DEBIAN_PACKAGES",
    "DEFAULT_POOL_S",
    "DirectoryCorpus",
    "EspeakCorpus",
    "FILLETS_LANGS",
    "LICENCE_FILE",
    "MIN_ACTIVE_FRACTION",
    "MIN_FS_HZ",
    "SILENT_PEAK",
    "SPLITS",
    "SPLITS_FILE",
    "SpeechCorpus",
    "SpeechFileWarning",
    "VAD_FRAME_SAMPLES",
    "VAD_THRESHOLD_DB",
    "active_window_starts",
    "assign_splits",
    "build_debian_corpus",
    "debian_split",
    "decode_g722",
    "default_debian_dir",
    "fillets_speaker",
    "frame_energy",
    "load_speech_file",
    "open_corpus",
    "resample_to",
    "speaker_of",
    "speaker_weights",
    "vad_activity",
    "word_list",
]


def open_corpus(spec: str | os.PathLike | None = None, *, seed: int = 0) -> SpeechCorpus:
    """Open a speech corpus: a registered name (:mod:`audiolrp.simulation.corpora`) or a folder.

    Parameters
    ----------
    spec : None, a registered name ("espeak", "debian", "noise", ...), or a directory
        ``None``: the default corpus (``"espeak"``, :class:`EspeakCorpus`); a name: the
        registered corpus (``"debian"``: the folder written by ``audiolrp corpus debian`` in
        :func:`default_debian_dir`); anything else: a :class:`DirectoryCorpus`.
    seed : int
        Chooses synthetic speakers/texts, or the files pooled from a large directory. Splits of
        directory corpora do not depend on it.
    """
    entry = corpus_entry(DEFAULT_CORPUS if spec is None else spec)
    if entry is None:
        return DirectoryCorpus(spec, seed=seed)  # type: ignore[arg-type]
    reason = entry.missing()
    if reason is not None:
        raise DatasetError(reason)
    return cast(SpeechCorpus, entry.open(seed))

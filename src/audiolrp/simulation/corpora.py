"""The speech corpora by name: the one registry behind ``--corpus`` and
:func:`audiolrp.simulation.speech.open_corpus`.

A corpus is registered with :func:`register_corpus` on a factory ``seed -> corpus`` (an object
with the :class:`~audiolrp.simulation.speech.SpeechCorpus` sampling methods); any spec that is
not a registered name is a folder of speech files
(:class:`~audiolrp.simulation.speech.DirectoryCorpus`). The CLI's ``--corpus`` help and the
one-line errors list the registered names (:func:`corpus_choices`), so a new corpus is one
registration.

Built in:

``espeak``
    :class:`~audiolrp.simulation.speech.EspeakCorpus`, synthetic speakers (the default).
``debian``
    recorded prompts from Debian packages, the folder ``audiolrp corpus debian`` writes
    (:func:`~audiolrp.simulation.speech.default_debian_dir`).
``noise``
    :class:`~audiolrp.simulation.scenes.NoiseCorpus`, amplitude-modulated noise (fast tests;
    not speech).

This module imports neither NumPy nor the corpora: ``audiolrp --help`` lists the names without
loading audio code, so the factories import their corpus when one is opened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The corpus of a recipe that names none (``speech=None``).
DEFAULT_CORPUS = "espeak"
#: The file ``audiolrp corpus debian`` writes last: the corpus is installed when it exists.
DEBIAN_MANIFEST = "MANIFEST.tsv"

CorpusFactory = Callable[[int], Any]


@dataclass(frozen=True)
class CorpusEntry:
    """A registered corpus.

    Attributes
    ----------
    name
        What ``--corpus`` and ``SceneConfig.speech`` say (lower case).
    description
        A few words for help texts.
    open
        ``seed -> corpus``.
    missing
        Why the corpus cannot be opened on this machine and how to fix it (one line), or
        ``None`` when it can.
    is_speech
        ``False`` for a stand-in that is not speech (``noise``).
    needs_install
        Whether the corpus must be built or installed first (it registered a ``missing``
        check: ``debian``).
    """

    name: str
    description: str
    open: CorpusFactory
    missing: Callable[[], str | None]
    is_speech: bool = True
    needs_install: bool = False


#: The registered corpora by name, in registration order.
CORPORA: dict[str, CorpusEntry] = {}


def _always_there() -> str | None:
    return None


def register_corpus(
    name: str,
    description: str,
    *,
    missing: Callable[[], str | None] | None = None,
    is_speech: bool = True,
) -> Callable[[CorpusFactory], CorpusFactory]:
    """Decorator registering a factory ``seed -> corpus`` under ``name`` (an existing name is
    replaced).

    Examples
    --------
    >>> @register_corpus("toy", "a test corpus")                # doctest: +SKIP
    ... def open_toy(seed: int) -> ToyCorpus:
    ...     return ToyCorpus(seed)
    """
    key = name.strip().lower()
    if not key or not key.replace("-", "_").isidentifier():
        raise ValueError(f"a corpus needs a name like 'espeak', got {name!r}")

    def add(factory: CorpusFactory) -> CorpusFactory:
        CORPORA[key] = CorpusEntry(key, description, factory, missing or _always_there,
                                   is_speech, missing is not None)
        return factory

    return add


def unregister_corpus(name: str) -> None:
    """Remove a registered corpus (tests register toy corpora and remove them)."""
    CORPORA.pop(name.strip().lower(), None)


def corpus_entry(spec: object) -> CorpusEntry | None:
    """The registered corpus ``spec`` names (case and surrounding spaces ignored), or ``None``
    for anything else (a folder)."""
    if not isinstance(spec, str):
        return None
    return CORPORA.get(spec.strip().lower())


def corpus_names() -> tuple[str, ...]:
    """The registered names."""
    return tuple(CORPORA)


def corpus_choices() -> str:
    """``"espeak, debian, noise or a folder of speech files"``: what ``--corpus`` takes, for
    help texts and errors."""
    return f"{', '.join(CORPORA)} or a folder of speech files"


def corpus_help(what: str = "Speech", default: str | None = None) -> str:
    """The ``--corpus`` help: ``"{what}: espeak, debian, noise or a folder of speech files
    (default: ...)."``."""
    tail = f" (default: {default})" if default else ""
    return f"{what}: {corpus_choices()}{tail}."


# ------------------------------------------------------------------------------ built in
def _debian_dir() -> Path:
    from audiolrp.simulation.speech.debian import (  # noqa: PLC0415 - see the module docstring
        default_debian_dir,
    )

    return default_debian_dir()


def debian_missing() -> str | None:
    """Why the Debian corpus cannot be opened (not built yet), or ``None``."""
    d = _debian_dir()
    if (d / DEBIAN_MANIFEST).is_file():
        return None
    return (f"the Debian speech corpus is not at {d}; run `audiolrp corpus debian` (or set "
            "AUDIOLRP_DEBIAN_CORPUS)")


@register_corpus("espeak", "synthetic eSpeak NG speakers, built in")
def _open_espeak(seed: int) -> Any:
    from audiolrp.simulation.speech.espeak import (  # noqa: PLC0415 - see the module docstring
        EspeakCorpus,
    )

    return EspeakCorpus(seed=seed)


@register_corpus("debian", "recorded prompts (`audiolrp corpus debian` builds it)",
                 missing=debian_missing)
def _open_debian(seed: int) -> Any:
    from audiolrp.simulation.speech.directory import (  # noqa: PLC0415 - see the module docstring
        DirectoryCorpus,
    )

    return DirectoryCorpus(_debian_dir(), seed=seed, name="debian")


@register_corpus("noise", "amplitude-modulated noise, a fast test stand-in", is_speech=False)
def _open_noise(seed: int) -> Any:
    from audiolrp.simulation.scenes import (  # noqa: PLC0415 - see the module docstring
        NoiseCorpus,
    )

    return NoiseCorpus()


__all__ = [
    "CORPORA",
    "DEBIAN_MANIFEST",
    "DEFAULT_CORPUS",
    "CorpusEntry",
    "corpus_choices",
    "corpus_entry",
    "corpus_help",
    "corpus_names",
    "debian_missing",
    "register_corpus",
    "unregister_corpus",
]

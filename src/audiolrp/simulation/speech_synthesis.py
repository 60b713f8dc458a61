"""eSpeak NG driver: synthetic "speakers" from the libespeak-ng bundled in ``espeakng-loader``.

The paper trains on 1-s TIMIT speech segments (Sec. 2, ref. [12]); TIMIT is licensed, so the
default corpus of :mod:`audiolrp.simulation.speech` synthesises speech with eSpeak NG's formant
synthesiser,
which needs nothing but the ``espeakng-loader`` wheel (GPL-3, library + voice data).

The library is driven through :mod:`ctypes` in synchronous mode (``AUDIO_OUTPUT_SYNCHRONOUS``):
a synth callback collects the int16 samples (22.05 kHz) of one ``espeak_Synth`` call.

Determinism
-----------
eSpeak keeps global synthesiser state (pitch flutter, resonators, breath noise fed by its own
random generator and by libc ``rand()``) that is *not* reset by ``espeak_Initialize``: two calls
with the same text in one process give slightly different waveforms (measured: even the sample
counts drift). A *fresh process* that replays the same call sequence with fixed seeds is
byte-identical, so :func:`synthesize_batch` runs every batch in a new Python process
(``python -m audiolrp.simulation.speech_synthesis``) and the output is a pure function of the job
list.
:class:`EspeakEngine` (in-process, guarded by a lock because eSpeak state is global) is what
that worker uses; call it directly only where bit-exact repeatability does not matter.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audiolrp.errors import AudioLRPError
from audiolrp.io import atomic_path

ESPEAK_FS_HZ: int = 22_050

# espeak_AUDIO_OUTPUT / espeak_PARAMETER / espeak_POSITION_TYPE values from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RAND_SEED = 1

#: English accents of eSpeak NG 1.52 used for synthetic speakers.
ESPEAK_ACCENTS: tuple[str, ...] = (
    "en-us",
    "en",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)
#: Voice variants (``voices/!v``): male m1..m8 and female f1..f5.
ESPEAK_VARIANTS: tuple[str, ...] = tuple(f"m{i}" for i in range(1, 9)) + tuple(
    f"f{i}" for i in range(1, 6)
)

_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


@dataclass(frozen=True)
class VoiceSpec:
    """One synthetic speaker: eSpeak voice name and prosody parameters.

    Attributes
    ----------
    voice : str
        ``"<accent>+<variant>"``, e.g. ``"en-gb-scotland+f2"``.
    rate_wpm : int
        Speaking rate in words per minute (eSpeak range 80..450).
    pitch : int
        Base pitch, eSpeak units 0..99 (50 = voice default).
    pitch_range : int
        Intonation range, eSpeak units 0..99 (0 = monotone).
    """

    voice: str
    rate_wpm: int = 175
    pitch: int = 50
    pitch_range: int = 50


def _load_espeakng() -> tuple[str, str]:
    try:
        import espeakng_loader  # noqa: PLC0415 - native library, loaded only to synthesise
    except ImportError as err:  # pragma: no cover - dependency of the package
        raise AudioLRPError(
            "espeakng-loader is not installed; the synthetic speech corpus needs it: "
            "pip install espeakng-loader"
        ) from err
    return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()


class EspeakEngine:
    """In-process eSpeak NG synthesiser (one per process; all calls serialised by a lock).

    Not bit-exact across repeated calls (see the module docstring); use
    :func:`synthesize_batch` for deterministic output.
    """

    _instance: EspeakEngine | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        lib_path, data_path = _load_espeakng()
        self._lib = ctypes.CDLL(lib_path)
        self._libc = ctypes.CDLL(None)
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        fs = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _ESPEAK_INITIALIZE_DONT_EXIT
        )
        if fs != ESPEAK_FS_HZ:
            raise AudioLRPError(
                f"libespeak-ng failed to initialise (returned {fs}); reinstall espeakng-loader"
            )
        self._chunks: list[np.ndarray] = []
        self._cb = _CALLBACK(self._on_samples)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._cb)

    @classmethod
    def get(cls) -> EspeakEngine:
        """The process-wide engine (created on first use)."""
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _on_samples(self, wav, n: int, _events) -> int:  # noqa: ANN001 - ctypes callback
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def synthesize(self, text: str, spec: VoiceSpec) -> np.ndarray:
        """Synthesise ``text`` with ``spec``; int16 samples at :data:`ESPEAK_FS_HZ`.

        Raises
        ------
        AudioLRPError
            Unknown voice or synthesis failure.
        """
        with self._lock:
            lib = self._lib
            if lib.espeak_SetVoiceByName(spec.voice.encode()) != 0:
                raise AudioLRPError(
                    f"eSpeak has no voice {spec.voice!r}; use '<accent>+<variant>' from "
                    "audiolrp.simulation.speech_synthesis.ESPEAK_ACCENTS / ESPEAK_VARIANTS"
                )
            lib.espeak_SetParameter(_PARAM_RATE, int(spec.rate_wpm), 0)
            lib.espeak_SetParameter(_PARAM_PITCH, int(spec.pitch), 0)
            lib.espeak_SetParameter(_PARAM_RANGE, int(spec.pitch_range), 0)
            lib.espeak_ng_SetRandSeed(_RAND_SEED)
            self._libc.srand(_RAND_SEED)
            self._chunks = []
            data = text.encode("utf-8") + b"\0"
            err = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if err != 0:
                raise AudioLRPError(f"espeak_Synth failed with code {err} for voice {spec.voice}")
            out = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            self._chunks = []
            return out.astype(np.int16, copy=False)


def synthesize_batch(
    jobs: list[tuple[VoiceSpec, list[str]]], *, timeout_s: float = 600.0
) -> list[list[np.ndarray]]:
    """Deterministically synthesise several texts per voice in a fresh worker process.

    Parameters
    ----------
    jobs : list of (VoiceSpec, list of str)
        Synthesised in this order, texts in order.
    timeout_s : float
        Limit for the worker.

    Returns
    -------
    list of list of np.ndarray
        ``out[j][t]``: int16 samples at 22.05 kHz of text ``t`` of job ``j``. The same job list
        always gives bit-identical output (fresh process, fixed seeds).
    """
    payload = json.dumps([[asdict(spec), list(texts)] for spec, texts in jobs])
    with tempfile.TemporaryDirectory(prefix="audiolrp-espeak-") as tmp:
        out_path = os.path.join(tmp, "out.npz")
        env = dict(os.environ)
        src_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src_root + os.pathsep + env.get("PYTHONPATH", "")
        proc = subprocess.run(
            [sys.executable, "-m", "audiolrp.simulation.speech_synthesis", out_path],
            input=payload.encode(),
            capture_output=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            msg = proc.stderr.decode(errors="replace").strip().splitlines()
            raise AudioLRPError(
                "eSpeak synthesis worker failed: "
                + (msg[-1] if msg else f"exit code {proc.returncode}")
            )
        with np.load(out_path) as z:
            return [
                [z[f"j{j}_t{t}"] for t in range(len(texts))] for j, (_, texts) in enumerate(jobs)
            ]


def _worker_main(out_path: str) -> None:
    jobs = json.loads(sys.stdin.buffer.read().decode())
    engine = EspeakEngine.get()
    arrays: dict[str, Any] = {}  # np.savez's stub would read ndarray values as allow_pickle
    for j, (spec_d, texts) in enumerate(jobs):
        spec = VoiceSpec(**spec_d)
        for t, text in enumerate(texts):
            arrays[f"j{j}_t{t}"] = engine.synthesize(text, spec)
    with atomic_path(out_path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


if __name__ == "__main__":
    try:
        _worker_main(sys.argv[1])
    except AudioLRPError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)

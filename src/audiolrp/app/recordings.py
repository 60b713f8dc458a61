"""Reading user Ambisonics recordings and cutting them into model-sized windows.

A recording is any WAV/FLAC file (anything :mod:`soundfile` reads) holding ``(N+1)^2``
Ambisonics channels of order ``N = 1..4``, in AmbiX (ACN order, SN3D normalisation; the
default) or FuMa (orders 1..3) convention, at any sample rate. :func:`read_ambisonics` returns
AmbiX signals of shape ``(n_sh, n_samples)`` in float64; :func:`resample_to_model_rate` brings
them to the models' 16 kHz (polyphase resampling); :func:`sliding_windows` cuts 1-s windows
(the paper's example length: 50 STFT frames x 512 bins, see :mod:`audiolrp.constants`).
The windows become model input through :meth:`audiolrp.models.LoadedModel.input`, the same
function as the demo's simulated scenes (each window brought to the model's training level).

Every problem a user can cause is reported as one :class:`~audiolrp.errors.AudioFileError`
line naming the file and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from audiolrp.audio_io import audio_info, read_audio, read_audio_frames, resample
from audiolrp.constants import CLIP_SAMPLES, FS_HZ, n_sh_channels
from audiolrp.errors import AudioFileError, AudioLRPError
from audiolrp.signal.ambisonics import fuma_to_ambix
from audiolrp.signal.layout import InputLayout

SUPPORTED_FORMATS: tuple[str, ...] = ("ambix", "fuma")
MAX_ORDER: int = 4
MAX_FUMA_ORDER: int = 3
#: Seconds of a recording read and resampled at a time by :func:`stream_16k`.
STREAM_SEGMENT_S: float = 20.0
#: Windows per batch of :func:`stream_windows`.
STREAM_BATCH: int = 32


def order_from_channels(n_channels: int) -> int | None:
    """Ambisonics order ``N`` with ``(N+1)^2 == n_channels``, or ``None`` if not a square."""
    if n_channels < 1:
        return None
    root = math.isqrt(n_channels)
    if root * root != n_channels:
        return None
    return root - 1


def check_audio_path(path: str | Path) -> None:
    """Raise if ``path`` does not exist or is a folder (cheap; reads nothing).

    Raises
    ------
    AudioFileError
        One line naming the path and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path} does not exist: pass the path of an Ambisonics WAV/FLAC file")
    if path.is_dir():
        raise AudioFileError(f"{path} is a folder: pass the path of an Ambisonics WAV/FLAC file")


def read_ambisonics(
    path: str | Path,
    format: str = "ambix",
    order: int | None = None,
    *,
    model: tuple[str, int, str] | None = None,
) -> tuple[np.ndarray, int]:
    """Read an Ambisonics recording as AmbiX (ACN/SN3D) signals.

    Parameters
    ----------
    path
        WAV/FLAC/... file with ``(N+1)^2`` channels, ``N = 1..4``.
    format
        ``"ambix"`` (ACN order, SN3D; default) or ``"fuma"`` (Furse-Malham, orders 1..3).
    order
        Keep only the channels up to this order (``(order+1)^2``); the file must have at
        least that many. ``None`` keeps all channels.
    model
        Optional ``(feature, order, name)`` of the model the recording is for: too few
        channels for it are reported as e.g. ``"rec.wav has 2 channels; the hoa2 model needs
        >= 9 Ambisonics channels (2nd-order AmbiX, ACN/SN3D)"``.

    Returns
    -------
    signals : np.ndarray
        ``(n_sh, n_samples)`` float64 AmbiX signals.
    fs : int
        Sample rate of the file in Hz.

    Raises
    ------
    AudioFileError
        Missing, unreadable, truncated (:func:`audiolrp.audio_io.check_not_truncated`), empty,
        non-finite or wrongly shaped files (one line each).
    """

    path = Path(path)
    name = path.name
    fmt = str(format).lower()
    if fmt not in SUPPORTED_FORMATS:
        raise AudioLRPError(f"unknown Ambisonics format {format!r}: use 'ambix' or 'fuma'")
    check_audio_path(path)
    data, fs = read_audio(path, "float64")
    if data.shape[0] == 0:
        raise AudioFileError(f"{name} contains no samples: pass a recording of at least 0.1 s")
    if not np.all(np.isfinite(data)):
        raise AudioFileError(
            f"{name} contains NaN or infinite samples: re-export the recording as finite PCM/float"
        )
    n_ch = data.shape[1]
    if model is not None:
        check_channels(name, n_ch, *model)
    file_order = order_from_channels(n_ch)
    if file_order is None or file_order < 1 or file_order > MAX_ORDER:
        raise AudioFileError(
            f"{name} has {n_ch} channel{'s' if n_ch != 1 else ''}; Ambisonics files need "
            f"(N+1)^2 = 4, 9, 16 or 25 channels (orders 1 to {MAX_ORDER})"
        )
    signals = data.T.copy()
    if fmt == "fuma":
        if file_order > MAX_FUMA_ORDER:
            raise AudioFileError(
                f"{name} has {n_ch} channels but FuMa is defined up to 3rd order (16 channels): "
                "convert it to AmbiX or pass --format ambix"
            )

        signals = np.asarray(fuma_to_ambix(signals), dtype=np.float64)
    if order is not None:
        need = n_sh_channels(int(order))
        if n_ch < need:
            raise AudioFileError(
                f"{name} has {n_ch} channels; order {order} needs >= {need} Ambisonics channels"
            )
        signals = signals[:need]
    return np.ascontiguousarray(signals, dtype=np.float64), int(fs)


def check_channels(name: str, n_channels: int, feature: str, order: int, model_name: str) -> None:
    """Raise a one-line :class:`AudioFileError` when a recording has too few channels.

    Example message: ``"rec.wav has 2 channels; the hoa2 model needs >= 9 Ambisonics channels
    (2nd-order AmbiX, ACN/SN3D)"``.
    """
    layout = InputLayout(feature, order)
    if n_channels < layout.n_audio_channels:
        raise AudioFileError(
            f"{name} has {n_channels} channel{'s' if n_channels != 1 else ''}; the {model_name} "
            f"model needs {layout.describe_audio()}"
        )


def resample_to_model_rate(
    signals: np.ndarray, fs_hz: int, target_fs_hz: int = FS_HZ
) -> np.ndarray:
    """Resample ``(n_ch, n)`` signals to ``target_fs_hz`` (:func:`audiolrp.audio_io.resample`).

    The up/down factors are the reduced fraction ``target_fs_hz / fs_hz`` (e.g. 48 kHz -> 16 kHz:
    up 1, down 3; 44.1 kHz -> 16 kHz: up 160, down 441).
    """
    if fs_hz <= 0:
        raise AudioFileError(f"invalid sample rate {fs_hz} Hz: the file header is corrupt")
    if int(fs_hz) == int(target_fs_hz):
        return np.asarray(signals, dtype=np.float64)

    return resample(np.asarray(signals, dtype=np.float64), int(fs_hz), int(target_fs_hz))


def window_starts(n_samples: int, window_samples: int, hop_samples: int) -> np.ndarray:
    """Start samples of the windows :func:`sliding_windows` cuts from ``n_samples`` samples.

    ``0, hop, 2 hop, ...`` while a window fits, plus one final window aligned with the end when
    the regular hops miss a tail; ``[0]`` when the recording is shorter than one window.
    """
    if window_samples <= 0 or hop_samples <= 0:
        raise AudioLRPError("window and hop must be positive: pass --hop-s > 0")
    if n_samples <= window_samples:
        return np.zeros(1, dtype=np.int64)
    starts = list(range(0, n_samples - window_samples + 1, hop_samples))
    if starts[-1] + window_samples < n_samples:
        starts.append(n_samples - window_samples)
    return np.asarray(starts, dtype=np.int64)


def get_window(signals: np.ndarray, start: int, window_samples: int = CLIP_SAMPLES) -> np.ndarray:
    """``signals[:, start:start + window_samples]``, zero-padded at the end if too short."""
    x = np.asarray(signals)
    seg = x[:, start : start + window_samples]
    if seg.shape[1] == window_samples:
        return seg
    out = np.zeros((x.shape[0], window_samples), dtype=x.dtype)
    out[:, : seg.shape[1]] = seg
    return out


@dataclass(frozen=True)
class RecordingInfo:
    """What a recording's header says, checked for a model (:func:`open_recording`)."""

    path: Path
    format: str
    fs_hz: int
    n_channels: int
    n_samples: int  # at fs_hz
    n_read: int  # AmbiX channels read (the model's)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.fs_hz

    @property
    def n_samples_16k(self) -> int:
        """Samples after resampling to 16 kHz (``ceil(n * up / down)``, as resample_poly)."""
        r = Fraction(FS_HZ, self.fs_hz)
        return -(-self.n_samples * r.numerator // r.denominator)


def open_recording(
    path: str | Path, format: str, model: tuple[str, int, str]
) -> RecordingInfo:
    """Check a recording's header for a model ``(feature, order, name)`` without reading its
    samples: existence, readability, truncation, channel count, order, format, length.

    Raises
    ------
    AudioFileError
        One line naming the file and the fix.
    """
    path = Path(path)
    fmt = str(format).lower()
    if fmt not in SUPPORTED_FORMATS:
        raise AudioLRPError(f"unknown Ambisonics format {format!r}: use 'ambix' or 'fuma'")
    check_audio_path(path)
    fs, n_ch, n = audio_info(path)
    if n == 0:
        raise AudioFileError(f"{path.name} contains no samples: pass a recording of at least 0.1 s")
    if fs <= 0:
        raise AudioFileError(
            f"invalid sample rate {fs} Hz: the file header of {path.name} is corrupt"
        )
    check_channels(path.name, n_ch, *model)
    file_order = order_from_channels(n_ch)
    if file_order is None or file_order < 1 or file_order > MAX_ORDER:
        raise AudioFileError(
            f"{path.name} has {n_ch} channels; Ambisonics files need (N+1)^2 = 4, 9, 16 or 25 "
            f"channels (orders 1 to {MAX_ORDER})"
        )
    if fmt == "fuma" and file_order > MAX_FUMA_ORDER:
        raise AudioFileError(
            f"{path.name} has {n_ch} channels but FuMa is defined up to 3rd order (16 channels): "
            "convert it to AmbiX or pass --format ambix"
        )
    n_read = InputLayout(model[0], model[1]).n_audio_channels
    return RecordingInfo(path, fmt, fs, n_ch, n, n_read)


def stream_16k(info: RecordingInfo, segment_s: float = STREAM_SEGMENT_S) -> Iterator[np.ndarray]:
    """The recording as consecutive 16-kHz AmbiX segments ``(n_read, <= segment)``, float64.

    Reads ``segment_s`` at a time (bounded memory for any length). Each segment is resampled
    with enough context on both sides (zeros beyond the file, as :func:`resample_to_model_rate`
    pads) that the concatenated segments equal the whole-file resampling up to float rounding.

    Raises
    ------
    AudioFileError
        NaN or infinite samples (naming the time), or a damaged file.
    """
    r = Fraction(FS_HZ, info.fs_hz)
    up, down = r.numerator, r.denominator
    seg_out = up * max(1, math.ceil(FS_HZ * segment_s / up))
    seg_in = seg_out * down // up
    ctx_in = 0 if up == down == 1 else down * math.ceil(4096 / down)
    ctx_out = ctx_in * up // down
    total_out = info.n_samples_16k
    for k in range(math.ceil(total_out / seg_out)):
        a = k * seg_in
        lo, hi = max(0, a - ctx_in), min(info.n_samples, a + seg_in + ctx_in)
        chunk = np.zeros((info.n_read, seg_in + 2 * ctx_in))
        if hi > lo:
            data = read_audio_frames(info.path, lo, hi)
            if not np.all(np.isfinite(data)):
                raise AudioFileError(
                    f"{info.path.name} contains NaN or infinite samples near "
                    f"{lo / info.fs_hz:.1f} s: re-export the recording as finite PCM/float"
                )
            sig = data.T
            if info.format == "fuma":
                sig = np.asarray(fuma_to_ambix(sig), dtype=np.float64)
            chunk[:, lo - (a - ctx_in) : hi - (a - ctx_in)] = sig[: info.n_read]
        y = chunk if up == down == 1 else resample(chunk, info.fs_hz, FS_HZ)
        yield y[:, ctx_out : ctx_out + min(seg_out, total_out - k * seg_out)]


def stream_windows(
    info: RecordingInfo, hop_samples: int, batch: int = STREAM_BATCH
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(starts, windows)`` batches of the 1-s windows of :func:`window_starts` over the
    16-kHz recording, ``windows`` ``(b, n_read, 16000)``; memory bounded by one segment and one
    batch."""
    starts = window_starts(info.n_samples_16k, CLIP_SAMPLES, hop_samples)
    segments = stream_16k(info)
    buf = np.zeros((info.n_read, 0))
    buf0 = 0  # 16-kHz sample index of buf[:, 0]
    done = False
    for i0 in range(0, starts.size, batch):
        idx = starts[i0 : i0 + batch]
        need_end = min(int(idx[-1]) + CLIP_SAMPLES, info.n_samples_16k)
        while buf0 + buf.shape[1] < need_end and not done:
            try:
                buf = np.concatenate([buf, next(segments)], axis=1)
            except StopIteration:
                done = True
        yield idx, np.stack([get_window(buf, int(s) - buf0) for s in idx])
        if i0 + batch < starts.size:
            drop = int(starts[i0 + batch]) - buf0
            buf, buf0 = buf[:, drop:], buf0 + drop


def sliding_windows(
    signals: np.ndarray,
    window_samples: int = CLIP_SAMPLES,
    hop_samples: int = CLIP_SAMPLES // 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``(n_ch, n)`` signals into overlapping windows (all in memory; see
    :func:`window_starts` and :func:`get_window` for long recordings).

    Windows start at ``0, hop, 2 hop, ...`` while they fit; a recording shorter than one window,
    or a tail the regular windows miss, gets one final window aligned with the end of the
    recording (zero-padded at the end only if the whole recording is shorter than a window).

    Returns
    -------
    windows : np.ndarray
        ``(n_windows, n_ch, window_samples)``.
    starts : np.ndarray
        Start sample of each window, ``(n_windows,)`` int64.
    """
    x = np.asarray(signals)
    if x.ndim != 2:
        raise ValueError(f"signals must be (channels, samples), got shape {x.shape}")
    starts = window_starts(x.shape[1], window_samples, hop_samples)
    windows = np.stack([get_window(x, int(s), window_samples) for s in starts])
    return windows, starts


__all__ = [
    "MAX_ORDER",
    "STREAM_BATCH",
    "STREAM_SEGMENT_S",
    "RecordingInfo",
    "open_recording",
    "stream_16k",
    "stream_windows",
    "SUPPORTED_FORMATS",
    "check_audio_path",
    "check_channels",
    "get_window",
    "order_from_channels",
    "read_ambisonics",
    "resample_to_model_rate",
    "sliding_windows",
    "window_starts",
]

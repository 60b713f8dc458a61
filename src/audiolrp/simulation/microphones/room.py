"""Rooms through an array: the image sources of :mod:`audiolrp.simulation.rooms` rendered per
capsule, the late tail coloured to the array's diffuse field, encoded
(:func:`simulate_array_rir`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal
from numpy.typing import ArrayLike

from audiolrp.constants import SPEED_OF_SOUND_M_S
from audiolrp.signal.ambisonics import _channel_orders
from audiolrp.simulation import rooms
from audiolrp.simulation.microphones.array import MicArray

ROOM_HIGHPASS_HZ: float = 10.0
"""High-pass of the image-source reflections, as in the room simulator's default."""


@dataclass(frozen=True, eq=False)
class ArrayRir:
    """A room impulse response recorded by an array and encoded to ACN/SN3D.

    ``direct`` and ``reverberant`` are ``(n_sh, n_samples)`` float64 (the direct path is no
    longer rank one: each capsule sees it with its own delay and gain). Directions are those
    of the source seen from the array centre.
    """

    direct: np.ndarray
    reverberant: np.ndarray
    source_azimuth_rad: float
    source_elevation_rad: float
    distance_m: float
    n_images: int

    @property
    def full(self) -> np.ndarray:
        """``direct + reverberant``."""
        return self.direct + self.reverberant


@dataclass(frozen=True, eq=False)
class _RoomWaves:
    """A room's image sources as plane waves at the receiver, and the ideal late tail.

    ``delays_samples``, ``amplitudes`` (the direct path's, the reflections' cross-faded) and
    unit ``directions`` of every image; ``is_direct`` marks the direct path; ``tail`` is the
    ideal response minus its image part (``(n_sh, n)``, zero before the cross-fade; None
    without a late tail); ``hoa`` the ideal response they come from.
    """

    hoa: rooms.HoaRir
    delays_samples: np.ndarray
    amplitudes: np.ndarray
    directions: np.ndarray
    is_direct: np.ndarray
    tail: np.ndarray | None


def _room_waves(
    order: int,
    room_m: ArrayLike,
    source_m: ArrayLike,
    receiver_m: ArrayLike,
    rt60_s: float,
    fs_hz: int,
    max_length_s: float | None,
    max_image_order: int | None,
    late_tail: bool,
    seed: int | None,
) -> _RoomWaves:
    """Steps 1 and 3 of :func:`simulate_array_rir`: the ideal response and the same image
    sources, through the room module's own steps (walls, mixing time, response length, image
    radius, images, arrivals), so both see identical waves."""
    fs, c = fs_hz, SPEED_OF_SOUND_M_S
    hoa = rooms.simulate_hoa_rir(
        room_m, source_m, receiver_m, rt60_s=rt60_s, order=order, fs_hz=fs,
        max_length_s=max_length_s, max_image_order=max_image_order, late_tail=late_tail,
        highpass_hz=ROOM_HIGHPASS_HZ, seed=seed,
    )
    room = np.asarray(room_m, np.float64).reshape(3)
    t_direct = hoa.distance_m / c
    t_mix, t_fade = rooms._mixing_time(
        t_direct, hoa.rt60_s, late_tail, hoa.mixing_time_s if late_tail else None
    )
    length_s = rooms._response_length_s(max_length_s, hoa.rt60_s, t_direct, max_image_order)
    r_max = rooms._image_radius_m(late_tail, t_mix, length_s, fs, room, hoa.distance_m,
                                  max_image_order)
    imgs = rooms.image_sources(room, np.asarray(source_m, np.float64),
                               np.asarray(receiver_m, np.float64), np.asarray(hoa.absorption),
                               r_max, max_image_order)
    t_arr, amp, amp_faded, y = rooms._image_arrivals(imgs, order, late_tail, t_mix, t_fade)
    delays = t_arr * fs
    is_direct = np.all(imgs["index"] == 0, axis=1)
    tail = None
    if late_tail:
        hp = rooms._check_highpass_hz(ROOM_HIGHPASS_HZ, fs)
        images = rooms._render_reflections(y, amp_faded, delays, ~is_direct, hoa.n_samples, fs,
                                           hp)
        tail = hoa.reverberant - images
    return _RoomWaves(
        hoa=hoa,
        delays_samples=delays,
        amplitudes=np.where(is_direct, amp, amp_faded),
        directions=imgs["offset_m"] / imgs["distance_m"][:, None],
        is_direct=is_direct,
        tail=tail,
    )


def simulate_array_rir(
    array: MicArray,
    room_m: ArrayLike,
    source_m: ArrayLike,
    receiver_m: ArrayLike,
    rt60_s: float,
    *,
    max_length_s: float | None = None,
    max_image_order: int | None = None,
    late_tail: bool = True,
    seed: int | None = 0,
) -> ArrayRir:
    """The room of :func:`audiolrp.simulation.rooms.simulate_hoa_rir` recorded by ``array``.

    1. :func:`~audiolrp.simulation.rooms.simulate_hoa_rir` at the array's order with the same
       arguments (its image sources, cross-fade and late tail; high-pass
       :data:`ROOM_HIGHPASS_HZ`), and the same image sources as plane waves (the room
       module's own steps: walls, mixing time, images, arrivals).
    2. Every image rendered per capsule (:meth:`MicArray.render_waves`): the direct path with
       its amplitude, the reflections with their cross-faded amplitudes, then high-passed
       like the ideal reflections.
    3. The late tail: the ideal response minus its image part is ``n_sh`` independent
       Gaussian channels of power ``env(t)^2 / (2n + 1)`` (SN3D diffuse field). Whitened
       (times ``sqrt(2n + 1)``) they drive :meth:`MicArray.diffuse_pre`, which gives them the
       cross-spectra the array's encoder sees in a diffuse field (capsule spacing, directivity,
       scattering and aliasing included); exact for a Gaussian diffuse field.
    4. Encoding: ``S`` and the radial filters (:meth:`MicArray.encode`).

    Returns
    -------
    ArrayRir
        Same length as the ideal response.
    """
    w = _room_waves(array.order, room_m, source_m, receiver_m, rt60_s, array.fs_hz,
                    max_length_s, max_image_order, late_tail, seed)
    n, s, d = w.hoa.n_samples, array.spatial_encoder, w.is_direct
    pre_direct = s @ array.render_waves(w.delays_samples[d], w.amplitudes[d], w.directions[d], n)
    r = ~d
    pre_refl = s @ array.render_waves(w.delays_samples[r], w.amplitudes[r], w.directions[r], n)
    hp = rooms._check_highpass_hz(ROOM_HIGHPASS_HZ, array.fs_hz)
    if hp is not None:
        sos = scipy.signal.butter(2, hp, btype="highpass", fs=array.fs_hz, output="sos")
        pre_refl = scipy.signal.sosfilt(sos, pre_refl, axis=-1)
    if w.tail is not None:
        white = w.tail * np.sqrt(2.0 * _channel_orders(array.order) + 1.0)[:, None]
        pre_refl = pre_refl + array.diffuse_pre(white)
    return ArrayRir(
        direct=array.radial_filter(pre_direct),
        reverberant=array.radial_filter(pre_refl),
        source_azimuth_rad=w.hoa.source_azimuth_rad,
        source_elevation_rad=w.hoa.source_elevation_rad,
        distance_m=w.hoa.distance_m,
        n_images=w.hoa.n_images,
    )

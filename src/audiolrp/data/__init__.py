"""Datasets on disk: sharded, reproducible train/val/test sets of simulated scenes.

Modules (one owner per concept)
-------------------------------
:mod:`.spec`
    The recipe (:class:`~audiolrp.data.spec.DatasetSpec`, its fingerprint), the file names of a
    folder and the scene seeds (:func:`~audiolrp.data.spec.scene_seed`).
:mod:`.shards`
    Writing: :func:`~audiolrp.data.shards.generate_shard`, ``generate_dataset`` (workers,
    ``--shard I/N``, resume), ``parse_shard_arg``.
:mod:`.manifest`
    Checksums and ``manifest.json``: ``finalize_dataset``, ``load_manifest``,
    ``verify_dataset``, ``shard_is_complete``.
:mod:`.dataset`
    Reading: ``FeatureDataset``, ``FeatureDatasets``, ``open_splits``, ``iter_batches``.
:mod:`.datasets`
    The former single module: re-exports every public name of the four above.

Layout of a dataset folder (``audiolrp simulate OUT_DIR``)
----------------------------------------------------------
``dataset_spec.json``
    The generation recipe (:class:`DatasetSpec`: scene config, seed, counts, shard size, storage
    dtype, which splits keep the direct sound). Written first; a later run into the same folder
    with a different recipe is refused.
``{split}-{index:05d}.h5`` + ``.sha256``
    Shards of ``shard_size`` scenes. Scene ``i`` of a split is
    ``simulate_scene(config, SeedSequence([seed, split_code, i]), split=split)``, so each shard
    is a pure function of ``(spec, split, index)``: serial, parallel (``--workers``), resumed and
    machine-split (``--shard I/N``) runs give byte-identical files (same software stack). HDF5
    files are written without timestamps (``track_times=False``), attributes in a fixed order,
    no compression; each is written to a temporary file (:func:`audiolrp.io.atomic_path`)
    and renamed after its checksum sidecar is written, so partial files are never visible and
    finished shards are recognised (checksum verified) and kept on resume.
``manifest.json``
    Written when all shards exist (by a run without ``--shard`` or by ``--finalize``): spec,
    counts, shard list with sha256 and size, corpus description and the HOA normalisation
    statistics of the train split for every order ``0..N`` (magnitude mean/std and phase
    mean/std pooled over channels, paper section "Experimental Setup"; none for intensity).

Shard contents (HDF5, root only)
--------------------------------
``mixture`` (n, (N+1)^2, 16000) float32|float16 - always; ``direct`` (same) - splits listed in
``direct_splits`` (default test); with ``all_parts`` also ``reverberant`` and ``noise``;
``label`` int64; ``azimuth_rad``, ``elevation_rad``, ``snr_db``, ``rt60_s``, ``distance_m``,
``drr_db`` float64; ``scene_index`` int64; ``params_json`` uint8 (UTF-8 JSON list of the scene
params); ``hoa_sums`` (5, (N+1)^2) float64 per-channel STFT magnitude/phase sums (train only,
of the stored audio) from which the manifest statistics are merged.
"""

"""Every public name of the former single dataset module, re-exported from its owner.

New code imports from the owners: :mod:`audiolrp.data.spec` (recipe, names, scene seeds),
:mod:`audiolrp.data.shards` (writing), :mod:`audiolrp.data.manifest` (checksums, manifest) and
:mod:`audiolrp.data.dataset` (reading). Patch functions in their owner module (e.g.
``audiolrp.data.shards.generate_shard``): a patch here reaches only callers that look the name
up here (the CLI does), not the data modules calling each other.
"""

from __future__ import annotations

from audiolrp.data.dataset import FeatureDataset, FeatureDatasets, iter_batches, open_splits
from audiolrp.data.manifest import (
    finalize_dataset,
    load_manifest,
    sha256_file,
    shard_is_complete,
    verify_dataset,
)
from audiolrp.data.shards import generate_dataset, generate_shard, parse_shard_arg
from audiolrp.data.spec import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    SPEC_NAME,
    SPLIT_CODES,
    DatasetSpec,
    scene_seed,
    shard_name,
)

__all__ = [
    "DatasetSpec",
    "FORMAT_VERSION",
    "FeatureDataset",
    "FeatureDatasets",
    "open_splits",
    "MANIFEST_NAME",
    "SPEC_NAME",
    "SPLIT_CODES",
    "finalize_dataset",
    "generate_dataset",
    "generate_shard",
    "iter_batches",
    "load_manifest",
    "parse_shard_arg",
    "scene_seed",
    "sha256_file",
    "shard_is_complete",
    "shard_name",
    "verify_dataset",
]

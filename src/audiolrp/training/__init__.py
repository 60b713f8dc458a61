"""Training of the DOA CRNNs (Table 1) with resumable checkpoints and optional DDP.

Training follows the paper's setup (Poschadel et al. 2021, as used by Kiyan et al.): Adam,
softmax cross-entropy per frame (the clip label is repeated for all 50 frames, since ``forward``
returns pre-softmax scores per frame), validation after every epoch, learning-rate reduction on
plateau, early stopping and keeping the best (lowest validation loss) weights. The clip
prediction used for accuracies is the argmax of the mean frame probability
(:func:`audiolrp.models.clip_probabilities`).

Two optional departures from the paper's recipe, both off by default and recorded in the model
card when used: ``label_sigma_deg > 0`` replaces the one-hot frame target by a Gaussian over the
great-circle distance from the labelled class (:func:`angular_label_targets`), so near misses
cost less than far ones; ``init_from`` starts from the weights (and normalisation) of a saved
model instead of a random initialisation (fine-tuning; the earlier stage's commands are kept).

One module per concept:

``config``       :class:`TrainConfig` (every setting of a run), :class:`TrainingInterrupted`
``data``         dataset folders, the per-epoch order, time crops, :class:`DirectionBatches`
``losses``       frame-wise cross-entropy, angular label targets
``optim``        Adam, the plateau and cosine schedules, bf16 autocast
``initial``      seeding and the initial network (random or ``init_from``)
``state``        :class:`TrainState`, the run's non-tensor state (a checkpoint's ``state``)
``checkpoints``  resumable checkpoints (safetensors + JSON, no pickle)
``ddp``          devices, the process group, DDP wrapping, all-reduce of metrics
``validation``   validation on whole clips
``logs``         ``log.csv`` / ``log.json``
``loop``         :func:`train`: the run and its named steps
``cards``        model cards (Markdown)
``export``       :func:`export_model`: shipped model files, test metrics and card

Resumability. Every ``checkpoint_every_steps`` optimizer steps and at every epoch end a
checkpoint is written to ``OUT/checkpoints/``. Each epoch's data order is a pure function of
``(seed, epoch)``, so ``resume=True`` skips the batches already seen and, on the CPU, ends with
bit-identical weights to an uninterrupted run.

Distributed training. When launched by ``torchrun`` (environment ``WORLD_SIZE > 1``) the same
:func:`train` call joins a process group (NCCL on GPUs, Gloo on CPUs), wraps the model in
:class:`~torch.nn.parallel.DistributedDataParallel` and shards each epoch's order across ranks;
only rank 0 writes logs, checkpoints and models.
"""

from __future__ import annotations

from audiolrp.signal.ambisonics import class_distance_deg
from audiolrp.training.cards import model_card_markdown
from audiolrp.training.checkpoints import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    load_checkpoint,
    save_checkpoint,
)
from audiolrp.training.config import TrainConfig, TrainingInterrupted
from audiolrp.training.data import (
    DirectionBatches,
    batch_rng,
    compute_normalization_stats,
    data_roots,
    dataset_directions,
    epoch_order,
    open_split,
    random_time_crops,
    read_data_recipe,
)
from audiolrp.training.ddp import hardware_description
from audiolrp.training.export import export_model
from audiolrp.training.logs import LOG_COLUMNS
from audiolrp.training.loop import TrainResult, train
from audiolrp.training.losses import angular_label_targets, framewise_cross_entropy
from audiolrp.training.optim import autocast_dtype, scheduled_lr
from audiolrp.training.state import EpochSums, TrainState

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "LOG_COLUMNS",
    "DirectionBatches",
    "EpochSums",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "TrainingInterrupted",
    "angular_label_targets",
    "autocast_dtype",
    "batch_rng",
    "class_distance_deg",
    "compute_normalization_stats",
    "data_roots",
    "dataset_directions",
    "epoch_order",
    "export_model",
    "framewise_cross_entropy",
    "hardware_description",
    "load_checkpoint",
    "model_card_markdown",
    "open_split",
    "random_time_crops",
    "read_data_recipe",
    "save_checkpoint",
    "scheduled_lr",
    "train",
]

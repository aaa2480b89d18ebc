"""fastmri: U-Net reconstruction of 4x-undersampled knee MR slices, scored by SSIM (spec §9)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from avgperf import spec
from workloads.common import data_check
from workloads.common.facts import from_configs
from workloads.fastmri.model import UNetFastMRI
from workloads.fastmri.ssim import structural_similarity


def l1_loss(label_batch, logits_batch, mask_batch=None) -> spec.LossFnOutput:
  """Per slice: mean |output - target| over its pixels; masked slices count 0."""
  per_example = jnp.mean(jnp.abs(logits_batch - label_batch), axis=tuple(
      range(1, logits_batch.ndim)))
  if mask_batch is None:
    mask_batch = jnp.ones_like(per_example)
  per_example = per_example * mask_batch
  return {'summed': per_example.sum(), 'n_valid_examples': mask_batch.sum(),
          'per_example': per_example}


def ssim_sum(outputs, batch) -> jnp.ndarray:
  """Σ weight * SSIM over the batch's slices, on de-normalised images (x * std + mean), with
  each slice's data range the max of its volume (0, as on padding, read as 1)."""
  mean = batch['mean'][:, None, None]
  std = batch['std'][:, None, None]
  data_range = jnp.where(batch['volume_max'] == 0, 1.0, batch['volume_max'])
  ssim = structural_similarity(outputs * std + mean, batch['targets'] * std + mean, data_range)
  return jnp.sum(ssim * batch['weights'])


class UNetReconstructionWorkload(spec.Workload):
  """Shared by the full-size workload and its phantom sibling: model, loss, metric.

  The metric (`ssim`) is a mean over slices, not over volumes, as AlgoPerf's published
  targets are (spec §13.7); only the data range is per volume.
  """

  target_metric_name = 'ssim'
  target_metric_mode = 'max'
  loss_type = spec.LossType.MEAN_ABSOLUTE_ERROR
  model: type = UNetFastMRI
  image_size = 320

  def __init__(self):
    self._model = self.model()

  def init_model_fn(self, rng):
    init = jax.jit(functools.partial(self._model.init, train=False))
    variables = init({'params': rng}, jnp.zeros((13, self.image_size, self.image_size)))
    return variables['params'], {}

  def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
               update_batch_norm, dropout_rate=None, use_running_average_bn=None):
    del update_batch_norm, use_running_average_bn  # instance norm only
    train = mode == spec.ForwardPassMode.TRAIN
    outputs = self._model.apply({'params': params},
                                augmented_and_preprocessed_input_batch['inputs'], train=train,
                                dropout_rate=dropout_rate,
                                rngs={'dropout': rng} if train else None)
    return outputs, model_state

  def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
    del label_smoothing  # not a classification loss
    return l1_loss(label_batch, logits_batch, mask_batch)

  def synthetic_batch(self, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    shape = (batch_size, self.image_size, self.image_size)
    return {'inputs': rng.normal(size=shape).astype(np.float32),
            'targets': rng.normal(size=shape).astype(np.float32),
            'mean': np.zeros(batch_size, np.float32), 'std': np.ones(batch_size, np.float32),
            'volume_max': np.full(batch_size, 3.0, np.float32),
            'weights': np.ones(batch_size, np.float32)}

  def eval_batch(self, params, model_state, batch, rng):
    outputs, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL, rng,
                               update_batch_norm=False)
    loss = self.loss_fn(batch['targets'], outputs, batch['weights'])['summed']
    return {'ssim': ssim_sum(outputs, batch), 'loss': loss}


@from_configs
class FastMRIWorkload(UNetReconstructionWorkload):
  """The 32-channel, 4-pool U-Net (7,756,097 params) on knee single-coil volumes.

  `data_dir` holds `knee_singlecoil_train/` and `knee_singlecoil_val/` (scripts/prepare_data.py).
  """

  name = 'fastmri'
  dataset = 'fastMRI knee single-coil (h5): train 973 volumes, val 199 (100 validation, 99 test)'
  num_train_examples = 34_742
  num_validation_examples = 3_554
  num_test_examples = 3_581
  eval_batch_size = 256
  num_validation_volumes = 100  # of the 199 val volumes, sorted by name; the rest are 'test'

  def check_data(self, data_dir):
    from workloads.fastmri import input_pipeline  # pylint: disable=g-import-not-at-top

    data_check.require(self.name, data_dir,
                       [f'{f}/*.h5' for f in (input_pipeline.TRAIN_DIR, input_pipeline.VAL_DIR)],
                       'fastmri --tar_dir=...', packages=('tensorflow', 'h5py'))

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    from workloads.fastmri import input_pipeline  # pylint: disable=g-import-not-at-top

    if data_dir is None:
      raise ValueError('fastmri needs --data_dir (see scripts/prepare_data.py)')
    if split == 'train':
      return input_pipeline.train_iterator(data_dir, rng, global_batch_size, start_step)
    return input_pipeline.eval_iterator(data_dir, split, global_batch_size,
                                        self.split_sizes()[split], self.num_validation_volumes)

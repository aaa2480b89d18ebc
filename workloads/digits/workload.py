"""The digits workload: an MLP trained to classify scikit-learn's handwritten digits."""

from __future__ import annotations

import jax.numpy as jnp

from avgperf import spec
from workloads.common import batching
from workloads.common.classification import ClassificationWorkload
from workloads.common.facts import from_configs
from workloads.common import digits_data
from workloads.digits.model import MLP


@from_configs
class DigitsWorkload(ClassificationWorkload):
  """Runs in seconds on a CPU, on data that ships with scikit-learn."""

  name = 'digits'
  dataset = 'sklearn digits (8x8)'
  num_train_examples = digits_data.SPLIT_SIZES['train']
  num_validation_examples = digits_data.SPLIT_SIZES['validation']
  num_test_examples = digits_data.SPLIT_SIZES['test']
  eval_batch_size = 300
  input_shape = (8, 8, 1)

  def __init__(self, hidden=(256, 256)):
    self._model = MLP(hidden=tuple(hidden))

  def init_model_fn(self, rng):
    variables = self._model.init({'params': rng}, jnp.zeros((1, 8, 8, 1)), train=False)
    return variables['params'], {}

  def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
               update_batch_norm, dropout_rate=None, use_running_average_bn=None):
    del update_batch_norm, use_running_average_bn  # no batch norm
    train = mode == spec.ForwardPassMode.TRAIN
    logits = self._model.apply({'params': params}, augmented_and_preprocessed_input_batch['inputs'],
                               train=train, dropout_rate=dropout_rate or 0.0,
                               rngs={'dropout': rng} if train else None)
    return logits, model_state

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    del data_dir  # the data ships with scikit-learn
    splits = digits_data.load_splits()
    if split == 'train':
      return batching.train_batches(splits['train'], global_batch_size, rng, start_step)
    if split == 'eval_train':
      arrays = {k: v[:self.num_eval_train_examples] for k, v in splits['train'].items()}
      return batching.eval_batches(arrays, global_batch_size)
    return batching.eval_batches(splits[split], global_batch_size)

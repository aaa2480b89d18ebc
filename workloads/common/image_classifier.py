"""A Flax image classifier as a workload: init, forward (with batch norm or without)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from avgperf import spec
from workloads.common.classification import ClassificationWorkload


class ImageClassifierWorkload(ClassificationWorkload):
  """A Flax image classifier (NHWC inputs) with optional batch-norm statistics.

  Subclasses set `model` (a module class, called with no arguments), `image_shape` and the
  facts; `model_fn` and `init_model_fn` are shared by ResNets and ViTs of every size.
  """

  model: type = None
  image_shape: tuple[int, int, int] = (224, 224, 3)

  def __init__(self):
    self._model = self.model()

  @property
  def input_shape(self) -> tuple[int, int, int]:
    return self.image_shape

  def init_model_fn(self, rng):
    init = jax.jit(functools.partial(self._model.init, train=False))
    variables = init({'params': rng}, jnp.zeros((1, *self.image_shape)))
    return variables['params'], variables.get('batch_stats', {})

  def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
               update_batch_norm, dropout_rate=None, use_running_average_bn=None):
    """`mode` switches dropout; batch norm follows `spec.uses_running_average`."""
    train = mode == spec.ForwardPassMode.TRAIN
    inputs = augmented_and_preprocessed_input_batch['inputs']
    rngs = {'dropout': rng} if train else None
    if not model_state:  # no batch norm
      return self._model.apply({'params': params}, inputs, train=train,
                               dropout_rate=dropout_rate, rngs=rngs), model_state
    variables = {'params': params, 'batch_stats': model_state}
    running = spec.uses_running_average(update_batch_norm, use_running_average_bn)
    if running:  # the statistics are read, not written
      return self._model.apply(variables, inputs, train=train, dropout_rate=dropout_rate,
                               rngs=rngs, use_running_average_bn=True), model_state
    logits, new_vars = self._model.apply(variables, inputs, train=train,
                                         dropout_rate=dropout_rate, rngs=rngs,
                                         use_running_average_bn=False, mutable=['batch_stats'])
    return logits, new_vars['batch_stats'] if update_batch_norm else model_state

"""The contract between workloads, submissions and the runner.

Names and signatures follow AlgoPerf v0.6's JAX API, so that a submission module written
for AlgoPerf runs here after changing only its import lines. Parameters are plain pytrees.
"""

from __future__ import annotations

import abc
import enum
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Tensor = Any
ParameterContainer = Any  # a pytree of arrays
ParameterTypeTree = Any  # a pytree of ParameterType, same structure as the params
ParameterShapeTree = Any  # a pytree of ShapeTuple, same structure as the params
ModelAuxiliaryState = Any  # e.g. batch-norm statistics
OptimizerState = Any
Hyperparameters = Any  # attribute-accessible: hyperparameters.learning_rate
RandomState = Any  # a JAX PRNG key
Batch = Mapping[str, Tensor]
LossFnOutput = dict[str, Tensor]
UpdateReturn = tuple[OptimizerState, ParameterContainer, ModelAuxiliaryState]
EvalResults = list[tuple[int, Mapping[str, float]]]


class LossType(enum.Enum):
  SOFTMAX_CROSS_ENTROPY = 0
  SIGMOID_CROSS_ENTROPY = 1
  MEAN_SQUARED_ERROR = 2
  CTC_LOSS = 3
  MEAN_ABSOLUTE_ERROR = 4


class ForwardPassMode(enum.Enum):
  TRAIN = 0
  EVAL = 1


class ParameterType(enum.Enum):
  WEIGHT = 0
  BIAS = 1
  CONV_WEIGHT = 2
  BATCH_NORM_SCALE = 3
  BATCH_NORM_BIAS = 4
  LAYER_NORM_SCALE = 5
  LAYER_NORM_BIAS = 6
  EMBEDDING = 7
  ATTENTION_Q = 8
  ATTENTION_K = 9
  ATTENTION_V = 10
  ATTENTION_OUT = 11
  ATTENTION_QKV = 12
  ATTENTION_KV = 13
  ATTENTION_BIAS = 14
  SCALE = 15
  OTHER = 16


class ShapeTuple:
  """A parameter's shape; AlgoPerf submissions read `.shape_tuple`."""

  def __init__(self, shape_tuple: Sequence[int]):
    self.shape_tuple = tuple(shape_tuple)

  def __repr__(self) -> str:
    return f'ShapeTuple({self.shape_tuple})'

  def __eq__(self, other) -> bool:
    return isinstance(other, ShapeTuple) and self.shape_tuple == other.shape_tuple

  def __hash__(self) -> int:
    return hash(self.shape_tuple)


class TrainingCompleteError(Exception):
  """Raised by a submission to end its trial early."""


def param_types_from_names(params: ParameterContainer) -> ParameterTypeTree:
  """Guesses each leaf's ParameterType from its path (flax naming)."""

  def leaf_type(path, leaf) -> ParameterType:
    names = [str(getattr(k, 'key', getattr(k, 'name', k))) for k in path]
    name, parent = names[-1], ' '.join(names[:-1]).lower()
    if 'batchnorm' in parent or 'bn' in parent.split('_'):
      return ParameterType.BATCH_NORM_SCALE if name == 'scale' else ParameterType.BATCH_NORM_BIAS
    if 'layernorm' in parent or 'norm' in parent:
      return ParameterType.LAYER_NORM_SCALE if name == 'scale' else ParameterType.LAYER_NORM_BIAS
    if name == 'bias':
      return ParameterType.BIAS
    if name == 'embedding':
      return ParameterType.EMBEDDING
    if name == 'kernel':
      return ParameterType.CONV_WEIGHT if np.ndim(leaf) == 4 else ParameterType.WEIGHT
    if name == 'scale':
      return ParameterType.SCALE
    return ParameterType.OTHER

  return jax.tree_util.tree_map_with_path(leaf_type, params)


def uses_running_average(update_batch_norm: bool, use_running_average_bn: bool | None) -> bool:
  """Whether batch norm normalises with its running statistics (AlgoPerf v0.6's rule).

  The running statistics are used exactly when `update_batch_norm` is false, whatever the
  forward-pass mode; `use_running_average_bn` overrides that when given (AlgoPerf issue
  #767: averaging and schedule-free submissions evaluate with batch statistics, or train
  with running ones). The mode only switches dropout and other train-time noise.

  >>> uses_running_average(update_batch_norm=True, use_running_average_bn=None)
  False
  >>> uses_running_average(update_batch_norm=False, use_running_average_bn=None)
  True
  >>> uses_running_average(update_batch_norm=True, use_running_average_bn=True)
  True
  """
  return not update_batch_norm if use_running_average_bn is None else use_running_average_bn


class Workload(abc.ABC):
  """A model, its data, its loss and metric, and the facts it is scored by.

  Subclasses set the facts as class attributes and implement the abstract methods. The
  base class derives the rest (shapes, eval loops) so that each workload stays short.
  """

  # Facts, set by each workload (AlgoPerf names).
  name: str = ''
  target_metric_name: str = ''
  target_metric_mode: str = 'max'  # 'max' or 'min'
  validation_target_value: float = math.nan
  test_target_value: float | None = None
  loss_type: LossType = LossType.SOFTMAX_CROSS_ENTROPY
  max_allowed_runtime_sec: float = 0.0
  eval_period_time_sec: float = 0.0
  step_hint: int = 0
  num_train_examples: int = 0
  num_validation_examples: int = 0
  num_test_examples: int = 0
  eval_batch_size: int = 0
  dataset: str = ''

  # AlgoPerf's baseline logs through this when it is set.
  metrics_logger = None

  @property
  def num_eval_train_examples(self) -> int:
    n, b = self.num_validation_examples, self.eval_batch_size
    return -(-n // b) * b

  @property
  def target_metric_direction(self) -> str:
    return self.target_metric_mode

  def has_reached_validation_target(self, eval_result: Mapping[str, float]) -> bool:
    return self._reached(eval_result.get(f'validation/{self.target_metric_name}'),
                         self.validation_target_value)

  def has_reached_test_target(self, eval_result: Mapping[str, float]) -> bool:
    if self.test_target_value is None:
      return True
    return self._reached(eval_result.get(f'test/{self.target_metric_name}'),
                         self.test_target_value)

  def _reached(self, value, target) -> bool:
    # >= / <=, the comparison of AlgoPerf's scorer, so that a trial stops exactly when its
    # score counts as reached (AlgoPerf's workloads stop on a strict > / <; only a metric
    # equal to its target tells the two apart).
    if value is None or not math.isfinite(value):
      return False
    return value >= target if self.target_metric_mode == 'max' else value <= target

  # Shapes, computed abstractly so that the largest model costs no memory.
  def abstract_init(self) -> tuple[Any, Any]:
    return jax.eval_shape(self.init_model_fn, jax.random.PRNGKey(0))

  @property
  def param_shapes(self) -> ParameterShapeTree:
    params, _ = self.abstract_init()
    return jax.tree.map(lambda s: ShapeTuple(s.shape), params)

  @property
  def model_params_types(self) -> ParameterTypeTree:
    params, _ = self.abstract_init()
    return param_types_from_names(params)

  # The model.
  def param_partition_specs(self) -> Any | None:
    """How the runner lays the params out over its one-axis mesh of all devices.

    None (the default): every param replicated. Otherwise a pytree like the params of
    `jax.sharding.PartitionSpec`, where `PartitionSpec(sharding.BATCH_AXIS)` splits a
    param's first axis over the devices (DLRM's embedding table); `model_fn` must then
    compute correctly on params laid out so, and `init_model_fn` may return them so.
    """
    return None

  @abc.abstractmethod
  def init_model_fn(self, rng: RandomState) -> tuple[ParameterContainer, ModelAuxiliaryState]:
    """Returns freshly initialised (params, model_state)."""

  @abc.abstractmethod
  def model_fn(self, params: ParameterContainer, augmented_and_preprocessed_input_batch: Batch,
               model_state: ModelAuxiliaryState, mode: ForwardPassMode, rng: RandomState,
               update_batch_norm: bool, dropout_rate: float | None = None,
               use_running_average_bn: bool | None = None,
               ) -> tuple[Tensor, ModelAuxiliaryState]:
    """Returns (logits, new_model_state).

    `mode` switches dropout; batch norm follows `uses_running_average(update_batch_norm,
    use_running_average_bn)`, and the returned state holds updated statistics exactly when
    `update_batch_norm` is true.
    """

  @abc.abstractmethod
  def loss_fn(self, label_batch: Tensor, logits_batch: Tensor, mask_batch: Tensor | None = None,
              label_smoothing: float = 0.0) -> LossFnOutput:
    """Returns {'summed', 'n_valid_examples', 'per_example'}."""

  # The data.
  @abc.abstractmethod
  def input_iterator(self, split: str, rng: RandomState, global_batch_size: int,
                     data_dir: str | None = None, start_step: int = 0) -> Iterator[dict]:
    """Host (numpy) batches of `split`.

    'train' repeats forever, shuffled by `rng`, and resumes exactly at `start_step`.
    'eval_train', 'validation' and 'test' are finite and unshuffled: each example once,
    the last batch padded to `global_batch_size` with a 'weights' array of 0 on padding.
    """

  # The metric.
  @abc.abstractmethod
  def eval_batch(self, params: ParameterContainer, model_state: ModelAuxiliaryState,
                 batch: Batch, rng: RandomState) -> dict[str, Tensor]:
    """Sums of the metric's parts over one (weighted) batch; jittable."""

  def finalize_metrics(self, sums: Mapping[str, float], num_examples: int) -> dict[str, float]:
    """Turns summed parts into metrics; by default each sum is divided by `num_examples`."""
    return {k: float(v) / num_examples for k, v in sums.items()}

  def split_sizes(self) -> dict[str, int]:
    sizes = {'eval_train': self.num_eval_train_examples, 'validation': self.num_validation_examples}
    if self.num_test_examples:
      sizes['test'] = self.num_test_examples
    return sizes

  def eval_model(self, params: ParameterContainer, model_state: ModelAuxiliaryState,
                 rng: RandomState, data_dir: str | None = None,
                 place_batch: Callable[[dict], Batch] = lambda b: b) -> dict[str, float]:
    """Evaluates every split; returns {'train/<metric>', 'validation/<metric>', ...}.

    `place_batch` moves a host batch onto the devices (the runner shards it).
    """
    results = {}
    for i, (split, num_examples) in enumerate(self.split_sizes().items()):
      split_rng = jax.random.fold_in(rng, i)
      metrics = self.eval_model_on_split(split, num_examples, params, model_state, split_rng,
                                         data_dir, place_batch)
      prefix = 'train' if split == 'eval_train' else split
      results.update({f'{prefix}/{k}': v for k, v in metrics.items()})
      results[f'{prefix}/num_examples'] = num_examples
    return results

  def eval_model_on_split(self, split: str, num_examples: int, params, model_state, rng,
                          data_dir, place_batch) -> dict[str, float]:
    """Sums `eval_batch` over the split on device, then finalizes once on the host."""
    if not hasattr(self, '_eval_batch_jit'):
      self._eval_batch_jit = jax.jit(self.eval_batch)
    sums = None
    for batch in self.input_iterator(split, rng, self.eval_batch_size, data_dir):
      out = self._eval_batch_jit(params, model_state, place_batch(batch), rng)
      sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
    return self.finalize_metrics(jax.device_get(sums), num_examples)

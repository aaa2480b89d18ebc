"""The contract between workloads, submissions and the runner.

Names and signatures follow AlgoPerf v0.6's JAX API, so that a submission module written
for AlgoPerf runs here after changing only its import lines. Parameters are plain pytrees.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypedDict

import jax
import jax.numpy as jnp
import numpy as np

from avgperf import trial_files

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
EvalResults = list[tuple[int, Mapping[str, float]]]  # (global_step, metrics) of every eval


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

  # Facts, set by each workload (AlgoPerf's names; targets and budgets from configs/). What
  # is scored:
  name: str = ''
  target_metric_name: str = ''
  """The metric scored: column `validation/<target_metric_name>`."""
  target_metric_mode: str = 'max'
  """'max' (reached when >= the target) or 'min' (when <=)."""
  validation_target_value: float = math.nan
  test_target_value: float | None = None

  def has_reached_validation_target(self, eval_result: Mapping[str, float]) -> bool:
    return trial_files.reached(
        eval_result.get(trial_files.column('validation', self.target_metric_name)),
        self.validation_target_value, self.target_metric_mode)

  def has_reached_test_target(self, eval_result: Mapping[str, float]) -> bool:
    if self.test_target_value is None:
      return True
    return trial_files.reached(
        eval_result.get(trial_files.column('test', self.target_metric_name)),
        self.test_target_value, self.target_metric_mode)

  # The budget.
  max_allowed_runtime_sec: float = 0.0
  """Seconds of timed training."""
  eval_period_time_sec: float = 0.0
  step_hint: int = 0
  """The steps the baseline's schedules are set for (fractions of it set warmups)."""
  loss_type: LossType = LossType.SOFTMAX_CROSS_ENTROPY

  # AlgoPerf's baseline logs through this when it is set.
  metrics_logger = None

  # The data.
  dataset: str = ''
  num_train_examples: int = 0
  num_validation_examples: int = 0
  num_test_examples: int = 0
  eval_batch_size: int = 0
  """The global batch size of evals (the last batch of a split is padded)."""

  @property
  def num_eval_train_examples(self) -> int:
    n, b = self.num_validation_examples, self.eval_batch_size
    return -(-n // b) * b

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
  def check_data(self, data_dir: str | None) -> None:
    """Raises UsageError, in a line naming what is missing and the command that makes it,
    when the dataset (or a package its pipeline needs) is absent. Called before the model is
    built; quick. The default checks nothing (data that needs no download)."""

  def synthetic_batch(self, batch_size: int, seed: int = 0) -> dict:
    """A host batch of random inputs and targets with the pipeline's shapes and dtypes and a
    'weights' array of ones: what tests and benchmarks feed the model without a dataset."""
    raise NotImplementedError(f'{type(self).__name__} has no synthetic_batch')

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


# The submission contract: the functions a submission module defines (AlgoPerf v0.6's JAX
# API, plus `averaged_params`, ours), and the value the runner receives.


class TrainState(TypedDict):
  """What `update_params` receives as `train_state` (read-only)."""

  accumulated_submission_time: float
  accumulated_eval_time: float
  last_eval_time: float
  global_step: int
  training_complete: bool


class GetBatchSizeFn(Protocol):
  def __call__(self, workload_name: str) -> int:
    """The global batch size for the workload."""


class InitOptimizerStateFn(Protocol):
  def __call__(self, workload: Workload, model_params: ParameterContainer,
               model_state: ModelAuxiliaryState, hyperparameters: Hyperparameters,
               rng: RandomState) -> OptimizerState:
    """The optimizer state before the first step (untimed)."""


class UpdateParamsFn(Protocol):
  def __call__(self, workload: Workload, current_param_container: ParameterContainer,
               current_params_types: ParameterTypeTree, model_state: ModelAuxiliaryState,
               hyperparameters: Hyperparameters, batch: Batch, loss_type: LossType,
               optimizer_state: OptimizerState, eval_results: EvalResults, global_step: int,
               rng: RandomState, train_state: TrainState | None = None) -> UpdateReturn:
    """One step (timed): (new optimizer state, new params, new model state)."""


class PrepareForEvalFn(Protocol):
  def __call__(self, workload: Workload, current_param_container: ParameterContainer,
               current_params_types: ParameterTypeTree, model_state: ModelAuxiliaryState,
               hyperparameters: Hyperparameters, loss_type: LossType,
               optimizer_state: OptimizerState, eval_results: EvalResults, global_step: int,
               rng: RandomState) -> UpdateReturn:
    """What an eval sees (timed): (optimizer state, params, model state). Training goes on
    from the raw state, whatever this returns."""


class DataSelectionFn(Protocol):
  def __call__(self, workload: Workload, input_queue: Iterator[Batch],
               optimizer_state: OptimizerState, current_param_container: ParameterContainer,
               model_state: ModelAuxiliaryState, hyperparameters: Hyperparameters,
               global_step: int, rng: RandomState) -> Batch:
    """The next training batch (timed), usually `next(input_queue)`."""


class AveragedParamsFn(Protocol):
  def __call__(self, workload: Workload, current_param_container: ParameterContainer,
               model_state: ModelAuxiliaryState, optimizer_state: OptimizerState,
               hyperparameters: Hyperparameters, global_step: int,
               ) -> Mapping[str, tuple[ParameterContainer, ModelAuxiliaryState]]:
    """name -> (params, model state) of each further average to evaluate (timed) and log
    under `<split>/<name>/<metric>`; empty when there are none."""


@dataclasses.dataclass(frozen=True)
class Submission:
  """A training algorithm, as the runner receives it.

  Attributes:
    name: how logs and scores name it.
    get_batch_size, init_optimizer_state, update_params, data_selection: required.
    prepare_for_eval: optional; without it an eval sees the raw params.
    averaged_params: optional; further averages evaluated beside the params.
    default_search_space: the search space that ships with it, if any.
    self_tuning: whether it runs under the self-tuning ruleset, where it receives
      `hyperparameters=None` and sets its own.
  """

  name: str
  get_batch_size: GetBatchSizeFn
  init_optimizer_state: InitOptimizerStateFn
  update_params: UpdateParamsFn
  data_selection: DataSelectionFn
  prepare_for_eval: PrepareForEvalFn | None = None
  averaged_params: AveragedParamsFn | None = None
  default_search_space: Path | None = None
  self_tuning: bool = True

"""An optax transformation as an AlgoPerf submission: one value with the API's functions.

    SUBMISSION = OptaxSubmission(make_tx=lambda workload, h: optax.adamw(h.learning_rate))

`make_tx(workload, hyperparameters)` builds the transformation. What an eval sees comes from
the transformation itself: an `averagers.AveragedTransformation` (what the averaging wrappers
and the averaging optimizers return) names the params its own eval sees and any further
averages, which are evaluated and logged beside them; any other transformation is evaluated
at the raw params. Evaluating never overwrites the live weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax

from avgperf import spec
from configs.workloads import baseline_batch_size
from submissions.averagers import AveragedTransformation, WithAverageState, WithAveragesState
from submissions.averagers import recompute_batch_stats

MakeTx = Callable[[spec.Workload, spec.Hyperparameters], optax.GradientTransformation]


def clip_by_global_norm(grads, max_norm: float | None):
  """AlgoPerf's clipping: scale by min(1, max_norm / (norm + 1e-6))."""
  if max_norm is None:
    return grads
  norm = optax.global_norm(grads)
  factor = jnp.minimum(1.0, max_norm / (norm + 1e-6))
  return jax.tree.map(lambda g: g * factor, grads)


def _holds_wrapper_state(opt_state) -> bool:
  is_wrapper = lambda x: isinstance(x, (WithAverageState, WithAveragesState))
  return any(is_wrapper(x) for x in jax.tree.leaves(opt_state, is_leaf=is_wrapper))


@dataclasses.dataclass(eq=False)
class OptaxSubmission:
  """The submission functions of AlgoPerf's API (and `averaged_params`) for one optax
  transformation.

  Attributes:
    make_tx: builds the transformation from the workload and hyperparameters.
    batch_size: workload name -> global batch size (default: the baseline's).
    recompute_batch_stats: training batches over which the batch-norm statistics of the
      evaluated params and of every average are recomputed at each eval (timed); 0 keeps the
      running statistics of the raw weights.
    self_tuning_hyperparameters: the hyperparameters it uses under the self-tuning ruleset
      (which hands it None); without them it refuses that ruleset.

  The transformation's `update` is also handed `grad_fn` as an extra argument (optax's
  extra-args convention; transformations that take none never see it): params -> gradients
  of the same batch's loss with the same key, for transformations that need gradients at
  other points (cooldown branches). Unused, it costs nothing.
  """

  make_tx: MakeTx
  batch_size: Callable[[str], int] = baseline_batch_size
  recompute_batch_stats: int = 0
  self_tuning_hyperparameters: Mapping[str, Any] | None = None
  # The latest (workload, hyperparameters) and its transformation and jitted step: a sweep
  # runs trials one after another, and each compiles its own step; keeping only the latest
  # lets the previous trial's program be freed.
  _cache: dict = dataclasses.field(default_factory=dict, repr=False)

  @property
  def supports_self_tuning(self) -> bool:
    return self.self_tuning_hyperparameters is not None

  def _hyperparameters(self, hyperparameters):
    if hyperparameters is not None:
      return hyperparameters
    if self.self_tuning_hyperparameters is None:
      raise ValueError('this submission has no self-tuning hyperparameters')
    from avgperf import tuning  # pylint: disable=g-import-not-at-top
    return tuning.make_hyperparameters(self.self_tuning_hyperparameters)

  def _built(self, workload, hyperparameters) -> tuple[Any, Callable]:
    """(transformation, jitted step) for this workload and these hyperparameters."""
    key = (workload, hyperparameters)
    if key not in self._cache:
      self._cache.clear()
      # Built eagerly even when first asked for inside a trace (the plan checks a submission
      # abstractly): constants the transformation makes must not be that trace's tracers.
      with jax.ensure_compile_time_eval():
        tx = self.make_tx(workload, self._hyperparameters(hyperparameters))
      self._cache[key] = (tx, jax.jit(self._step_fn(workload, hyperparameters, tx),
                                      donate_argnums=(0, 2)))
    return self._cache[key]

  def _step_fn(self, workload, hyperparameters, tx) -> Callable:
    h = self._hyperparameters(hyperparameters)
    update = tx.update if isinstance(tx, AveragedTransformation) else (
        optax.with_extra_args_support(tx).update)
    label_smoothing = getattr(h, 'label_smoothing', 0.0) or 0.0
    dropout_rate = getattr(h, 'dropout_rate', None)
    grad_clip = getattr(h, 'grad_clip', None)

    def step(params, model_state, opt_state, batch, rng):
      def loss_fn(p):
        logits, new_model_state = workload.model_fn(
            p, batch, model_state, spec.ForwardPassMode.TRAIN, rng, update_batch_norm=True,
            dropout_rate=dropout_rate)
        out = workload.loss_fn(batch['targets'], logits, batch.get('weights'), label_smoothing)
        # A batch whose weights are all zero has loss 0 and zero gradients, not 0/0.
        n_valid = out['n_valid_examples']
        return out['summed'] / jnp.where(n_valid > 0, n_valid, 1), new_model_state

      def grad_fn(p):
        return clip_by_global_norm(jax.grad(lambda q: loss_fn(q)[0])(p), grad_clip)

      (loss, new_model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
      grads = clip_by_global_norm(grads, grad_clip)
      updates, opt_state = update(grads, opt_state, params, grad_fn=grad_fn)
      return optax.apply_updates(params, updates), new_model_state, opt_state, loss

    return step

  def get_batch_size(self, workload_name: str) -> int:
    return self.batch_size(workload_name)

  def init_optimizer_state(self, workload, model_params, model_state, hyperparameters, rng):
    del model_state, rng
    tx, _ = self._built(workload, hyperparameters)
    state = tx.init(model_params)
    if not isinstance(tx, AveragedTransformation) and _holds_wrapper_state(state):
      raise ValueError('an averaging wrapper sits inside another transformation, so its '
                       'averages would never be evaluated: make with_average/with_averages '
                       'the outermost transformation')
    return state

  def update_params(self, workload, current_param_container, current_params_types, model_state,
                    hyperparameters, batch, loss_type, optimizer_state, eval_results,
                    global_step, rng, train_state=None):
    del current_params_types, loss_type, eval_results, global_step, train_state
    _, step = self._built(workload, hyperparameters)
    params, model_state, optimizer_state, _ = step(
        current_param_container, model_state, optimizer_state, batch, rng)
    return optimizer_state, params, model_state

  def prepare_for_eval(self, workload, current_param_container, current_params_types,
                       model_state, hyperparameters, loss_type, optimizer_state, eval_results,
                       global_step, rng):
    del current_params_types, loss_type, eval_results, global_step
    tx, _ = self._built(workload, hyperparameters)
    params = current_param_container
    if isinstance(tx, AveragedTransformation):
      params = tx.eval_params(optimizer_state, current_param_container)
    return optimizer_state, params, self._batch_stats(workload, params, model_state, rng)

  def averaged_params(self, workload, current_param_container, model_state, optimizer_state,
                      hyperparameters, global_step) -> dict[str, tuple[Any, Any]]:
    tx, _ = self._built(workload, hyperparameters)
    if not isinstance(tx, AveragedTransformation):
      return {}
    named = tx.averages(optimizer_state, current_param_container)
    return {name: (params, self._batch_stats(
        workload, params, model_state, jax.random.fold_in(jax.random.PRNGKey(global_step), i)))
            for i, (name, params) in enumerate(named.items())}

  def _batch_stats(self, workload, params, model_state, rng):
    """The model state an eval of `params` uses: recomputed, or the raw weights'."""
    if not self.recompute_batch_stats or not jax.tree.leaves(model_state):
      return model_state
    batches = workload.input_iterator('train', rng, self.get_batch_size(workload.name))
    batches = (b for _, b in zip(range(self.recompute_batch_stats), batches))
    return recompute_batch_stats(workload, params, model_state, batches, rng)

  def data_selection(self, workload, input_queue, optimizer_state, current_param_container,
                     model_state, hyperparameters, global_step, rng):
    del workload, optimizer_state, current_param_container, model_state, hyperparameters
    del global_step, rng
    return next(input_queue)

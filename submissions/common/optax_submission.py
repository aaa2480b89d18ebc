"""Turns an optax transformation into an AlgoPerf submission module's functions.

A submission is a value: `make_tx(workload, hyperparameters)` builds the transformation, and
`eval_params(opt_state, params)` says which weights an eval sees (the raw ones by default, an
average for averaging submissions), so evaluating never overwrites the live weights.

    _SUBMISSION = OptaxSubmission(make_tx=lambda w, h: optax.adamw(h.learning_rate))
    init_optimizer_state = _SUBMISSION.init_optimizer_state
    update_params = _SUBMISSION.update_params
    ...
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax

from avgperf import spec
from configs.workloads import baseline_batch_size

MakeTx = Callable[[spec.Workload, spec.Hyperparameters], optax.GradientTransformation]
EvalParams = Callable[[optax.OptState, spec.ParameterContainer], spec.ParameterContainer]
# (opt_state) or (opt_state, params) -> name -> params; the second form lets an average fall
# back to the raw params while it has none (LAWA until its buffer is full).
Averages = Callable[..., Mapping[str, spec.ParameterContainer]]


def _raw_params(opt_state, params):
  del opt_state
  return params


def _num_positional(fn) -> int:
  try:
    parameters = inspect.signature(fn).parameters.values()
  except (TypeError, ValueError):
    return 1
  kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
  if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in parameters):
    return 2
  return sum(p.kind in kinds for p in parameters)


def clip_by_global_norm(grads, max_norm: float | None):
  """AlgoPerf's clipping: scale by min(1, max_norm / (norm + 1e-6))."""
  if max_norm is None:
    return grads
  norm = optax.global_norm(grads)
  factor = jnp.minimum(1.0, max_norm / (norm + 1e-6))
  return jax.tree.map(lambda g: g * factor, grads)


@dataclasses.dataclass(eq=False)
class OptaxSubmission:
  """The five submission functions of AlgoPerf's API, for one optax transformation.

  Attributes:
    make_tx: builds the transformation from the workload and hyperparameters.
    eval_params: the params an eval sees, given the optimizer state and the raw params.
    averages: optional, several named averages to evaluate at once (logged as their own
      columns, e.g. `validation/ema_0.99/accuracy`); called with the optimizer state, and
      with the raw params as well when it takes two arguments.
    batch_size: workload name -> global batch size.

  The transformation's `update` is also handed `grad_fn` as an extra argument (optax's
  extra-args convention; transformations that take none never see it): params -> gradients
  of the same batch's loss with the same key, for transformations that need gradients at
  other points (cooldown branches). Unused, it costs nothing.
  """

  make_tx: MakeTx
  eval_params: EvalParams = _raw_params
  averages: Averages | None = None
  batch_size: Callable[[str], int] = baseline_batch_size
  _steps: dict = dataclasses.field(default_factory=dict, repr=False)

  def get_batch_size(self, workload_name: str) -> int:
    return self.batch_size(workload_name)

  def init_optimizer_state(self, workload, model_params, model_state, hyperparameters, rng):
    del model_state, rng
    return self.make_tx(workload, hyperparameters).init(model_params)

  def _train_step(self, workload, hyperparameters):
    """The jitted step for this (workload, hyperparameters), built once and cached."""
    key = (id(workload), hyperparameters)
    if key not in self._steps:
      tx = optax.with_extra_args_support(self.make_tx(workload, hyperparameters))
      label_smoothing = getattr(hyperparameters, 'label_smoothing', 0.0) or 0.0
      dropout_rate = getattr(hyperparameters, 'dropout_rate', None)
      grad_clip = getattr(hyperparameters, 'grad_clip', None)

      def step(params, model_state, opt_state, batch, rng):
        def loss_fn(p):
          logits, new_model_state = workload.model_fn(
              p, batch, model_state, spec.ForwardPassMode.TRAIN, rng, update_batch_norm=True,
              dropout_rate=dropout_rate)
          out = workload.loss_fn(batch['targets'], logits, batch.get('weights'), label_smoothing)
          # A batch whose weights are all zero (TWA-v's held-out part can miss a batch)
          # has loss 0 and zero gradients, not 0/0.
          n_valid = out['n_valid_examples']
          return out['summed'] / jnp.where(n_valid > 0, n_valid, 1), new_model_state

        def grad_fn(p):
          return clip_by_global_norm(jax.grad(lambda q: loss_fn(q)[0])(p), grad_clip)

        (loss, new_model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        grads = clip_by_global_norm(grads, grad_clip)
        updates, opt_state = tx.update(grads, opt_state, params, grad_fn=grad_fn)
        return optax.apply_updates(params, updates), new_model_state, opt_state, loss

      self._steps[key] = jax.jit(step, donate_argnums=(0, 2))
    return self._steps[key]

  def update_params(self, workload, current_param_container, current_params_types, model_state,
                    hyperparameters, batch, loss_type, optimizer_state, eval_results,
                    global_step, rng, train_state=None):
    del current_params_types, loss_type, eval_results, global_step, train_state
    step = self._train_step(workload, hyperparameters)
    params, model_state, optimizer_state, _ = step(
        current_param_container, model_state, optimizer_state, batch, rng)
    return optimizer_state, params, model_state

  def prepare_for_eval(self, workload, current_param_container, current_params_types,
                       model_state, hyperparameters, loss_type, optimizer_state, eval_results,
                       global_step, rng):
    del workload, current_params_types, hyperparameters, loss_type, eval_results, global_step, rng
    return (optimizer_state, self.eval_params(optimizer_state, current_param_container),
            model_state)

  def averaged_params(self, workload, current_param_container, model_state, optimizer_state,
                      hyperparameters, global_step) -> dict[str, tuple[Any, Any]]:
    del workload, hyperparameters, global_step
    if self.averages is None:
      return {}
    if _num_positional(self.averages) >= 2:
      named = self.averages(optimizer_state, current_param_container)
    else:
      named = self.averages(optimizer_state)
    return {name: (p, model_state) for name, p in named.items()}

  def data_selection(self, workload, input_queue, optimizer_state, current_param_container,
                     model_state, hyperparameters, global_step, rng):
    del workload, optimizer_state, current_param_container, model_state, hyperparameters
    del global_step, rng
    return next(input_queue)

  def module_functions(self) -> dict[str, Callable]:
    """The submission API, for `globals().update(...)` in a submission module."""
    return {
        'get_batch_size': self.get_batch_size,
        'init_optimizer_state': self.init_optimizer_state,
        'update_params': self.update_params,
        'prepare_for_eval': self.prepare_for_eval,
        'data_selection': self.data_selection,
        'averaged_params': self.averaged_params,
    }

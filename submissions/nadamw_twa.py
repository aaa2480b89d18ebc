"""NAdamW with trainable weight averaging (Li et al.): the baseline trains until a switch
step, storing n checkpoints along the way; from the switch the weights are
w = mean + sum_i X_i P_i and only the layer-wise coefficients X are trained, by AdamW.

Hyperparameters: the baseline's, plus twa_switch_fraction (of the step hint),
twa_checkpoints (n), twa_span_fraction (the span of the checkpoints before the switch, of the
step hint), twa_learning_rate, twa_weight_decay, twa_bits (0: a float32 basis; else the
basis is quantised to that many bits) and twa_holdout (0: TWA-t, X trained on the training
batches; > 0: TWA-v, that fraction of the training examples -- chosen by a hash of each
example's inputs -- is left out of phase 1 and X is trained on it alone). The hash sees the
batch as the pipeline delivers it: on workloads with random augmentation (the image
workloads' crops and shifts) the held-out part is a random share of each batch rather than
a fixed subset of the data; digits and fastMRI's inputs are unaugmented.
Each phase has its own compiled step (the update for global_step < switch is phase 1's).
Batch-norm statistics: kept (the running statistics of training, which continue in phase 2).
Scoring reads `validation/<metric>`: the raw weights, which in phase 2 are the trained
average w(X).
Search space: configs/search_spaces/nadamw_twa.json.
"""

import dataclasses

import jax
import jax.numpy as jnp
import optax

from configs.submissions import default_point
from submissions import baseline
from submissions import optimizers
from submissions.common.optax_submission import OptaxSubmission


def switch_step(workload, hyperparameters) -> int:
  return max(1, round(hyperparameters.twa_switch_fraction * workload.step_hint))


def make_tx(workload, hyperparameters, phase=None) -> optax.GradientTransformation:
  """The TWA transformation; `phase` 1 or 2 builds that phase's program alone (same state)."""
  h = hyperparameters
  n = int(h.twa_checkpoints)
  switch = switch_step(workload, h)
  every = max(1, round(h.twa_span_fraction * workload.step_hint / n))
  return optimizers.trainable_weight_averaging(
      baseline.make_tx(workload, h), num_checkpoints=n, every=every, switch=switch,
      start=max(1, switch - (n - 1) * every), learning_rate=h.twa_learning_rate,
      weight_decay=h.twa_weight_decay, bits=int(h.twa_bits) or None, phase=phase)


@jax.jit
def _reweight(batch, fraction, phase2):
  held_out = optimizers.holdout_mask(batch['inputs'], fraction)
  keep = jnp.where(phase2, held_out, ~held_out)
  weights = batch.get('weights', jnp.ones(keep.shape, jnp.float32))
  return {**batch, 'weights': weights * keep}


@dataclasses.dataclass(eq=False)
class TwaSubmission(OptaxSubmission):
  """One compiled step per phase, picked by the step count (cheaper than one program that
  holds both phases; see `trainable_weight_averaging`'s `phase`); the optimizer state is the
  same for both. TWA-v's data selection holds the held-out examples out of phase 1 and
  trains the coefficients on them alone."""

  def __post_init__(self):
    self._phases = {
        phase: OptaxSubmission(make_tx=lambda w, h, phase=phase: make_tx(w, h, phase))
        for phase in (1, 2)}

  def update_params(self, workload, current_param_container, current_params_types, model_state,
                    hyperparameters, batch, loss_type, optimizer_state, eval_results,
                    global_step, rng, train_state=None):
    h = self._hyperparameters(hyperparameters)
    phase = 1 if global_step < switch_step(workload, h) else 2
    return self._phases[phase].update_params(
        workload, current_param_container, current_params_types, model_state, h, batch,
        loss_type, optimizer_state, eval_results, global_step, rng, train_state)

  def data_selection(self, workload, input_queue, optimizer_state, current_param_container,
                     model_state, hyperparameters, global_step, rng):
    batch = next(input_queue)
    h = self._hyperparameters(hyperparameters)
    fraction = float(getattr(h, 'twa_holdout', 0.0) or 0.0)
    if not fraction:
      return batch
    return _reweight(batch, fraction, global_step >= switch_step(workload, h))


SUBMISSION = TwaSubmission(make_tx=make_tx,
                           self_tuning_hyperparameters=default_point('nadamw_twa'))

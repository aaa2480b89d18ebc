"""NAdamW with trainable weight averaging (Li et al.): the baseline trains until a switch
step, storing n checkpoints along the way; from the switch only the weights' position in
the checkpoints' span is trained. Two published forms (`twa_variant`):

* 'journal' (default): w = mean + sum_i X_i P_i, P_i the checkpoints' deviations from their
  mean normalised per layer, layer-wise coefficients X trained by AdamW with a cosine rate
  with 20% warm-up over the phase (`optimizers.trainable_weight_averaging`);
* 'conference': a Gram-Schmidt basis of the checkpoints and SGD (momentum 0.9) on the
  weights with the gradient projected onto it, the rate divided by 10 at 50% and 75% of
  the phase (`optimizers.trainable_weight_averaging_conference`).

Hyperparameters: the baseline's, plus twa_switch_fraction (of the step hint),
twa_checkpoints (n), twa_span_fraction (the span of the checkpoints before the switch, of the
step hint), twa_learning_rate (the peak rate of phase 2), twa_weight_decay, twa_bits (0: a
float32 basis; else the journal form's normalised rows quantised to that many bits),
twa_quantization ('per_checkpoint' or 'per_block' min/max), twa_variant and twa_holdout
(0: TWA-t, phase 2 trained on training batches; > 0: TWA-v, that fraction of the training
examples -- chosen by a hash of each example's inputs -- is held out: phase-1 batches carry
training examples only (`optimizers.training_rows`) and phase-2 batches held-out examples
only (`optimizers.HeldOutBatches`, drawing about 1 / twa_holdout training batches per
step), so that held-out and training examples never share batch statistics). The hash sees
the batch as the pipeline delivers it: on workloads with random augmentation (the image
workloads' crops and shifts) the held-out part is a random share of each batch rather than
a fixed subset of the data; digits and fastMRI's inputs are unaugmented. A run resumed in
TWA-v's phase 2 draws other (equally distributed) batches than an uninterrupted one.
Each phase has its own compiled step (the update for global_step < switch is phase 1's).
Batch-norm statistics: kept (the running statistics of training, which continue in phase 2).
Scoring reads `validation/<metric>`: the raw weights, which in phase 2 are the trained
average.
Search space: configs/search_spaces/nadamw_twa.json.
"""

import dataclasses

import optax

from configs.submissions import default_point
from submissions import baseline
from submissions import optimizers
from submissions.common.optax_submission import OptaxSubmission
from submissions.common.periods import to_steps

VARIANTS = ('journal', 'conference')


def switch_step(workload, hyperparameters) -> int:
  return to_steps(hyperparameters.twa_switch_fraction, workload.step_hint, minimum=1)


def _conference_optimizer(h, phase_steps: int) -> optax.GradientTransformation:
  """train_twa.py's --schedule step: SGD (momentum 0.9) after weight decay, the rate x0.1 at
  50% and 75% of phase 2 (counted by the optimizer, which starts at the switch)."""
  boundaries = {max(1, int(phase_steps * 0.5)): 0.1, max(2, int(phase_steps * 0.75)): 0.1}
  rate = optax.piecewise_constant_schedule(h.twa_learning_rate, boundaries)
  return optax.chain(optax.add_decayed_weights(h.twa_weight_decay),
                     optax.sgd(rate, momentum=0.9))


def make_tx(workload, hyperparameters, phase=None) -> optax.GradientTransformation:
  """The TWA transformation; `phase` 1 or 2 builds that phase's program alone (same state)."""
  h = hyperparameters
  n = int(h.twa_checkpoints)
  switch = switch_step(workload, h)
  every = to_steps(h.twa_span_fraction / n, workload.step_hint, minimum=1)
  phase_steps = max(1, workload.step_hint - switch)
  common = dict(num_checkpoints=n, every=every, switch=switch,
                start=max(1, switch - (n - 1) * every), phase=phase)
  variant = getattr(h, 'twa_variant', None) or 'journal'
  if variant not in VARIANTS:
    raise ValueError(f'unknown twa_variant {variant!r}; use one of {VARIANTS}')
  if variant == 'conference':
    return optimizers.trainable_weight_averaging_conference(
        baseline.make_tx(workload, h), projected_optimizer=_conference_optimizer(h, phase_steps),
        **common)
  return optimizers.trainable_weight_averaging(
      baseline.make_tx(workload, h),
      learning_rate=optimizers.twa_coefficient_schedule(h.twa_learning_rate, phase_steps),
      weight_decay=h.twa_weight_decay, bits=int(h.twa_bits) or None,
      quantization=getattr(h, 'twa_quantization', None) or 'per_checkpoint', **common)


@dataclasses.dataclass(eq=False)
class TwaSubmission(OptaxSubmission):
  """One compiled step per phase, picked by the step count (cheaper than one program that
  holds both phases; see `trainable_weight_averaging`'s `phase`); the optimizer state is the
  same for both. TWA-v's data selection gives phase 1 training examples only and phase 2
  held-out examples only."""

  def __post_init__(self):
    self._phases = {
        phase: OptaxSubmission(make_tx=lambda w, h, phase=phase: make_tx(w, h, phase))
        for phase in (1, 2)}
    self._held_out = {}

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
    h = self._hyperparameters(hyperparameters)
    fraction = float(getattr(h, 'twa_holdout', 0.0) or 0.0)
    if not fraction:
      return next(input_queue)
    if global_step < switch_step(workload, h):
      return optimizers.training_rows(next(input_queue), fraction)
    if fraction not in self._held_out:
      self._held_out[fraction] = optimizers.HeldOutBatches(fraction)
    return self._held_out[fraction].next(input_queue)


SUBMISSION = TwaSubmission(make_tx=make_tx,
                           self_tuning_hyperparameters=default_point('nadamw_twa'))

"""SGD with momentum and periodic SWA (Guo, Jin and Liu 2023), as their code (ZJLAB-AMMI/
PSWA, pswa.py): a SWA average over each cycle of P periods, after which training restarts
from the average with fresh momentum, up to swa_start; then plain SWA to the end.

Hyperparameters: learning_rate, momentum, weight_decay, warmup_factor, pswa_start_fraction
(of the step hint: where the periodic phase begins; its first snapshot is one period later),
pswa_period_fraction (a period, of the step hint), pswa_periods (P), swa_start_fraction (the
last restart may come no later; plain SWA after it) and swa_lr_factor (swa_lr /
learning_rate). The rate is SWA's schedule (`schedules.swa_anneal` with swa_start): constant
until half of swa_start, linear to swa_lr at 0.9 swa_start, then swa_lr, so it decays
within the periodic phase; a restart resets the momentum buffer and keeps the schedule's
step (their fresh SGD takes the epoch's rate).
Batch-norm statistics: recomputed for the average by a pass over 20 training batches, as
SWA does, for every eval; and at a restart the training statistics become those of the
average (their `model = deepcopy(swa_model)` copies swa_model's batch-norm buffers, which
`bn_update` recomputed): here the model state's statistics are recomputed for the restart
point over the same 20 batches (other model-state leaves are kept). A no-op on models
without batch norm.
Scoring reads `validation/<metric>`: their swa_model: the running average of the current
cycle, the average just completed between a restart and the next snapshot, the raw weights
only before the first snapshot.
Search space: configs/search_spaces/sgd_pswa.json.
"""

import dataclasses

import jax
import optax

from configs.submissions import default_point
from submissions import optimizers, schedules
from submissions.common.optax_submission import OptaxSubmission
from submissions.common.periods import to_steps

BATCH_STATS_BATCHES = 20


def _keep_schedule(fresh, old):
  """After a restart: fresh weight-decay and momentum states, the old schedule count."""
  return (fresh[0], fresh[1], old[2])


def pswa_steps(workload, hyperparameters) -> dict[str, int]:
  """every, periods, start (the first snapshot) and final_swa_start, in updates."""
  h = hyperparameters
  every = to_steps(h.pswa_period_fraction, workload.step_hint, minimum=1)
  return {'every': every, 'periods': int(h.pswa_periods),
          'start': to_steps(h.pswa_start_fraction, workload.step_hint) + every,
          'final_swa_start': to_steps(h.swa_start_fraction, workload.step_hint, minimum=1)}


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  h = hyperparameters
  steps = pswa_steps(workload, h)
  lr = schedules.swa_anneal(h.learning_rate, h.swa_lr_factor * h.learning_rate,
                            steps['final_swa_start'],
                            warmup_steps=to_steps(h.warmup_factor, workload.step_hint))
  inner = optax.chain(optax.add_decayed_weights(h.weight_decay), optax.trace(h.momentum),
                      optax.scale_by_learning_rate(lr))
  return optimizers.periodic_swa(inner, reset=_keep_schedule, **steps)


@dataclasses.dataclass(eq=False)
class PswaSubmission(OptaxSubmission):
  """At an update that restarts (known on the host from the step count: no device read), the
  model state's batch-norm statistics are recomputed at the restart point."""

  def update_params(self, workload, current_param_container, current_params_types, model_state,
                    hyperparameters, batch, loss_type, optimizer_state, eval_results,
                    global_step, rng, train_state=None):
    optimizer_state, params, model_state = super().update_params(
        workload, current_param_container, current_params_types, model_state, hyperparameters,
        batch, loss_type, optimizer_state, eval_results, global_step, rng, train_state)
    steps = pswa_steps(workload, self._hyperparameters(hyperparameters))
    if optimizers.is_restart(global_step + 1, **steps):
      model_state = self._batch_stats(workload, params, model_state,
                                      jax.random.fold_in(rng, 1))
    return optimizer_state, params, model_state


SUBMISSION = PswaSubmission(make_tx=make_tx, recompute_batch_stats=BATCH_STATS_BATCHES,
                            self_tuning_hyperparameters=default_point('sgd_pswa'))

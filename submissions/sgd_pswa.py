"""SGD with momentum and periodic SWA (Guo et al. 2022): a SWA average over each cycle of P
periods, after which training restarts from the average with fresh momentum.

Hyperparameters: learning_rate, momentum, weight_decay, warmup_factor, pswa_start_fraction
(of the step hint: the first snapshot), pswa_period_fraction (a period, of the step hint),
pswa_periods (P). The rate warms up linearly, then stays constant; a restart resets the
momentum buffer and keeps the schedule's step (so warmup is not repeated).
Batch-norm statistics: recomputed for the average by a pass over 20 training batches, as
SWA does (a no-op on models without batch norm).
Scoring reads `validation/<metric>`: the running average of the current cycle (right after a
restart, the restart point, which is the previous cycle's average).
Search space: configs/search_spaces/sgd_pswa.json.
"""

import optax

from configs.submissions import default_point
from submissions import optimizers, schedules
from submissions.common.optax_submission import OptaxSubmission


def _keep_schedule(fresh, old):
  """After a restart: fresh weight-decay and momentum states, the old schedule count."""
  return (fresh[0], fresh[1], old[2])


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  h = hyperparameters
  lr = schedules.constant(h.learning_rate, warmup_steps=int(h.warmup_factor * workload.step_hint))
  inner = optax.chain(optax.add_decayed_weights(h.weight_decay), optax.trace(h.momentum),
                      optax.scale_by_learning_rate(lr))
  every = max(1, round(h.pswa_period_fraction * workload.step_hint))
  start = max(1, round(h.pswa_start_fraction * workload.step_hint))
  return optimizers.periodic_swa(inner, every=every, periods=int(h.pswa_periods), start=start,
                                reset=_keep_schedule)


SUBMISSION = OptaxSubmission(make_tx=make_tx, recompute_batch_stats=20,
                            self_tuning_hyperparameters=default_point('sgd_pswa'))

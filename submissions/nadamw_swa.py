"""NAdamW with SWA (Izmailov et al. 2018): the learning rate anneals to a constant swa_lr,
and from swa_start the weights are averaged uniformly every c steps.

Hyperparameters: learning_rate, one_minus_beta1, beta2, weight_decay, warmup_factor (as the
baseline's), swa_start_fraction (of the step hint), swa_lr_factor (swa_lr / learning_rate),
swa_snapshots (how many snapshots from swa_start to the step hint: c = that span / them).
The schedule is SWA's: constant until 0.5 swa_start, linear to swa_lr at
0.9 swa_start, then constant.
Batch-norm statistics: recomputed for the average by a pass over 20 training batches, as
SWA does (a no-op on models without batch norm).
Scoring reads `validation/<metric>`: the SWA average's from swa_start, the raw weights' before.
Search space: configs/search_spaces/nadamw_swa.json.
"""

import optax

from configs.submissions import default_point
from submissions import averagers, schedules
from submissions.common.optax_submission import OptaxSubmission
from submissions.optimizers import nadamw
from submissions.common.periods import to_steps


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  h = hyperparameters
  start = to_steps(h.swa_start_fraction, workload.step_hint, minimum=1)
  lr = schedules.swa_anneal(h.learning_rate, h.swa_lr_factor * h.learning_rate, start,
                            warmup_steps=to_steps(h.warmup_factor, workload.step_hint))
  inner = nadamw(lr, b1=1.0 - h.one_minus_beta1, b2=h.beta2, weight_decay=h.weight_decay)
  every = max(1, round((workload.step_hint - start) / h.swa_snapshots))
  return averagers.with_average(inner, averagers.swa(start=start, every=every))


SUBMISSION = OptaxSubmission(make_tx=make_tx, recompute_batch_stats=20,
                            self_tuning_hyperparameters=default_point('nadamw_swa'))

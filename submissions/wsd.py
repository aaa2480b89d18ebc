"""NAdamW with a warmup-stable-decay schedule and a 1-sqrt cooldown (Hägele et al. 2024).

Hyperparameters: learning_rate, one_minus_beta1, beta2, weight_decay, warmup_factor (as the
baseline's), cooldown_fraction (the last fraction of the step hint spent cooling down) and
optionally cooldown_shape ('1-sqrt' by default; 'linear', 'cosine').
Batch-norm statistics: the training ones (no averaging).
Scoring reads `validation/<metric>` (the raw weights).
Search space: configs/search_spaces/wsd.json.
"""

import optax

from submissions import schedules
from configs.submissions import default_point
from submissions.common.optax_submission import OptaxSubmission
from submissions.optimizers import nadamw
from submissions.common.periods import to_steps


def wsd_schedule(workload, hyperparameters) -> optax.Schedule:
  h = hyperparameters
  return schedules.wsd(h.learning_rate, workload.step_hint, h.cooldown_fraction,
                       warmup_steps=to_steps(h.warmup_factor, workload.step_hint),
                       shape=getattr(h, 'cooldown_shape', '1-sqrt'))


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  h = hyperparameters
  return nadamw(wsd_schedule(workload, h), b1=1.0 - h.one_minus_beta1, b2=h.beta2,
                weight_decay=h.weight_decay)


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('wsd'))

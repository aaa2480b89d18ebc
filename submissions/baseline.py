"""AlgoPerf's baseline: NAdamW, linear warmup then cosine decay to zero at `step_hint`,
decoupled weight decay, optional label smoothing, dropout and gradient clipping.

Hyperparameters: learning_rate, one_minus_beta1, beta2, weight_decay, warmup_factor,
and optionally label_smoothing, dropout_rate, grad_clip. Search space:
configs/search_spaces/baseline.json (AlgoPerf's five fixed points).
"""

import optax

from configs.submissions import default_point
from submissions.common.optax_submission import OptaxSubmission
from submissions.optimizers import nadamw
from submissions.schedules import warmup_cosine
from submissions.common.periods import to_steps


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  warmup = to_steps(hyperparameters.warmup_factor, workload.step_hint)
  return nadamw(
      warmup_cosine(hyperparameters.learning_rate, warmup, workload.step_hint),
      b1=1.0 - hyperparameters.one_minus_beta1, b2=hyperparameters.beta2,
      weight_decay=hyperparameters.weight_decay)


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('baseline'))

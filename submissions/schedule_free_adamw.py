"""Schedule-Free AdamW (Defazio et al. 2024) in facebookresearch's current form, which
`optax.contrib.schedule_free_adamw` and the AlgoPerf submissions compute, with the (k+1)^r
weighting of the PyTorch AlgoPerf submission: averaging instead of annealing, no decaying
schedule.

Hyperparameters: learning_rate, one_minus_beta1, beta2, weight_decay, warmup_factor, r,
weight_lr_power and optionally schedule_free_variant ('algoperf', the default; 'paper', the
form of the paper's experiments; see `optimizers.schedule_free_adamw`).
Batch-norm statistics: kept (those collected at the training points y);
`schedule_free_adamw_bn` recomputes them at the evaluated point instead.
Scoring reads `validation/<metric>`: the average x = (y - (1 - b1) z) / b1, which
prepare_for_eval hands over; training continues from y.
Search space: configs/search_spaces/schedule_free_adamw.json.
"""

import optax

from configs.submissions import default_point
from submissions import optimizers
from submissions.common.optax_submission import OptaxSubmission
from submissions.common.periods import to_steps


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  h = hyperparameters
  return optimizers.schedule_free_adamw(
      h.learning_rate, warmup_steps=to_steps(h.warmup_factor, workload.step_hint),
      b1=1.0 - h.one_minus_beta1, b2=h.beta2, weight_decay=h.weight_decay, r=h.r,
      weight_lr_power=h.weight_lr_power,
      variant=getattr(h, 'schedule_free_variant', None) or 'algoperf')


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('schedule_free_adamw'))

"""The two-regime schedule (Leclerc & Madry 2020): SGD with a long large-step phase, then a
short small-step phase, the momentum switchable between the two.

Hyperparameters: learning_rate (the large rate), small_lr_factor (small / large),
switch_fraction (of the step hint: where the small-step phase begins), momentum_large,
momentum_small, weight_decay, warmup_factor. Both the rate and the momentum are injected
hyperparameters (logged in the optimizer state).
Batch-norm statistics: the training ones (no averaging).
Scoring reads `validation/<metric>` (the raw weights).
Search space: configs/search_spaces/two_regime.json.
"""

import optax

from submissions import schedules
from configs.submissions import default_point
from submissions.common.optax_submission import OptaxSubmission
from submissions.common.periods import to_steps


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  h = hyperparameters
  switch = to_steps(h.switch_fraction, workload.step_hint)
  lr = schedules.two_regime(h.learning_rate, h.small_lr_factor * h.learning_rate, switch,
                            warmup_steps=to_steps(h.warmup_factor, workload.step_hint))
  momentum = schedules.two_regime(h.momentum_large, h.momentum_small, switch)
  return optax.chain(optax.add_decayed_weights(h.weight_decay),
                     optax.inject_hyperparams(optax.sgd)(learning_rate=lr, momentum=momentum))


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('two_regime'))

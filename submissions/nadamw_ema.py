"""NAdamW + warmup/cosine (the baseline) with an EMA of the weights, evaluated instead of them.

Hyperparameters: the baseline's, plus ema_decay and optionally ema_warmup ('tf': decay
min(beta, (1 + t) / (10 + t)); 'power'; none by default). The EMA is updated every step,
float32, outside the optimizer's state; training continues from the raw weights.
Batch-norm statistics: kept (the current running statistics).
Scoring reads `validation/<metric>`: the EMA's (`with_average` makes it the evaluated weights).
Search space: configs/search_spaces/nadamw_ema.json.
"""

import optax

from configs.submissions import default_point
from submissions import averagers
from submissions import baseline
from submissions.common.optax_submission import OptaxSubmission


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  return averagers.with_average(
      baseline.make_tx(workload, hyperparameters),
      averagers.ema(hyperparameters.ema_decay,
                    warmup=getattr(hyperparameters, 'ema_warmup', None) or None))


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('nadamw_ema'))

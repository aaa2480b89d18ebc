"""NAdamW with WSD (1-sqrt cooldown) and LAWA on top: the mean of the last L snapshots.

Hyperparameters: those of `wsd`, plus lawa_length, lawa_every_fraction, lawa_burnin_fraction and
optionally lawa_host_buffer (as `nadamw_lawa`'s).
Batch-norm statistics: kept (the current running statistics).
Scoring reads `validation/<metric>`: LAWA's once its buffer is full, the raw weights' before.
Search space: configs/search_spaces/wsd_lawa.json.
"""

import optax

from configs.submissions import default_point
from submissions import averagers
from submissions import nadamw_lawa
from submissions import wsd
from submissions.common.optax_submission import OptaxSubmission


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  return averagers.with_average(wsd.make_tx(workload, hyperparameters),
                                nadamw_lawa.lawa_averager(workload, hyperparameters))


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('wsd_lawa'))

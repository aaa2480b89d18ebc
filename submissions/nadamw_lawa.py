"""NAdamW + warmup/cosine (the baseline) with LAWA: the mean of the last L snapshots.

Hyperparameters: the baseline's, plus lawa_length (L), lawa_window_fraction (the span
L * nu covers, as a fraction of the step hint: nu = window * step_hint / L) and optionally
lawa_host_buffer (keep the ring buffer in host memory; device memory then grows by one copy).
The raw weights are evaluated until the buffer is full; training continues from them.
Batch-norm statistics: kept (the current running statistics).
Scoring reads `validation/<metric>`: LAWA's once its buffer is full, the raw weights' before.
Search space: configs/search_spaces/nadamw_lawa.json.
"""

import optax

from configs.submissions import default_point
from submissions import averagers
from submissions import baseline
from submissions.common.optax_submission import OptaxSubmission


def lawa_averager(workload, hyperparameters) -> averagers.Averager:
  """LAWA with nu chosen so that L snapshots span the given fraction of the step hint."""
  length = int(hyperparameters.lawa_length)
  every = max(1, round(hyperparameters.lawa_window_fraction * workload.step_hint / length))
  return averagers.lawa(length, every,
                        host_buffer=bool(getattr(hyperparameters, 'lawa_host_buffer', False)))


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  return averagers.with_average(baseline.make_tx(workload, hyperparameters),
                                lawa_averager(workload, hyperparameters))


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('nadamw_lawa'))

"""NAdamW + warmup/cosine (the baseline) with LAWA: the mean of the last L snapshots, taken
every nu steps after a burn-in, as Ajroldi et al.'s LAWA (Niccolo-Ajroldi/
algorithmic-efficiency, submissions/lawa_queue/lawa_queue.py).

Hyperparameters: the baseline's, plus lawa_length (L, their `lawa_queue_len`),
lawa_every_fraction (nu as a fraction of the step hint, rounded up: their `lawa_every_pct`),
lawa_burnin_fraction (their `lawa_burnin_pct`) and optionally lawa_host_buffer (keep the ring
buffer in host memory; device memory then grows by nothing between evals).
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
from submissions.common.periods import start_and_every


def lawa_averager(workload, hyperparameters) -> averagers.Averager:
  """LAWA with Ajroldi et al.'s burn-in and period, as fractions of the step hint."""
  h = hyperparameters
  start, every = start_and_every(workload.step_hint, h.lawa_burnin_fraction,
                                 h.lawa_every_fraction)
  return averagers.lawa(int(h.lawa_length), every, start,
                        host_buffer=bool(getattr(h, 'lawa_host_buffer', False)))


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  return averagers.with_average(baseline.make_tx(workload, hyperparameters),
                                lawa_averager(workload, hyperparameters))


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('nadamw_lawa'))

"""NAdamW + warmup/cosine (the baseline) with an EMA of the weights, evaluated instead of them,
updated every nu steps from a burn-in as Ajroldi et al.'s EMA (Niccolo-Ajroldi/
algorithmic-efficiency, submissions/lawa_ema: `lawa_burnin_pct`, `lawa_every_pct`,
`lawa_beta`; the first update copies the weights).

Hyperparameters: the baseline's, plus ema_decay (beta, per EMA update), ema_every_fraction
(nu as a fraction of the step hint, rounded up; absent: every step), ema_start_fraction (the
burn-in, of the step hint; absent: 0) and optionally ema_warmup (None; 'tf': min(beta,
(1 + n) / (10 + n)) over the EMA's own updates; 'tensorflow': TensorFlow's
ExponentialMovingAverage with the global step, the average starting from the initial
weights; 'power'). Decay per update, update period in fractions of the step hint: an EMA
updated every nu = f * step_hint steps with decay beta averages over about nu / (1 - beta)
steps, f / (1 - beta) of the step hint, the same share of the run on every workload (step
hints span 600 to 186,666); a per-step decay with the same horizon is beta^(1 / nu). The EMA
is float32, outside the optimizer's state; training continues from the raw weights.
Batch-norm statistics: kept (the current running statistics).
Scoring reads `validation/<metric>`: the EMA's (`with_average` makes it the evaluated weights;
the raw weights' before its first update).
Search space: configs/search_spaces/nadamw_ema.json.
"""

import optax

from configs.submissions import default_point
from submissions import averagers
from submissions import baseline
from submissions.common.optax_submission import OptaxSubmission
from submissions.common.periods import start_and_every


def ema_averager(workload, hyperparameters) -> averagers.Averager:
  h = hyperparameters
  every_fraction = getattr(h, 'ema_every_fraction', None)
  start, every = 0, 1
  if every_fraction is not None:
    start, every = start_and_every(workload.step_hint, getattr(h, 'ema_start_fraction', 0.0),
                                   every_fraction)
  return averagers.ema(h.ema_decay, start=start, every=every,
                       warmup=getattr(h, 'ema_warmup', None) or None)


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  return averagers.with_average(baseline.make_tx(workload, hyperparameters),
                                ema_averager(workload, hyperparameters))


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('nadamw_ema'))

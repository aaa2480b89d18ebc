"""NAdamW + warmup/cosine (the baseline) carrying several averages at once: EMA with beta in
{0.9, 0.99, 0.999} and LAWA with L in {5, 20}, all from one run.

One run yields the whole averaging sweep: each average is evaluated at every eval and logged
under its own column prefix (`validation/ema_0.99/accuracy`, `validation/lawa_20/...`), so
each one's time-to-target can be read off the same log (scoring's `averages=True` scores
each as a virtual submission `<submission>[<average>]`).

Hyperparameters: the baseline's, plus lawa_every (nu, in steps, shared by both LAWAs).
Batch-norm statistics: kept, for every average.
Scoring reads `validation/<metric>` for the submission itself (the raw weights: training
and its scored column are the baseline's) and `validation/<average>/<metric>` per average.
Search space: configs/search_spaces/nadamw_many_averages.json.
"""

import optax

from configs.submissions import default_point
from submissions import averagers
from submissions import baseline
from submissions.common.optax_submission import OptaxSubmission

EMA_DECAYS = (0.9, 0.99, 0.999)
LAWA_LENGTHS = (5, 20)


def averages_of_the_run(hyperparameters) -> dict[str, averagers.Averager]:
  out = {f'ema_{d}': averagers.ema(d) for d in EMA_DECAYS}
  out.update({f'lawa_{n}': averagers.lawa(n, int(hyperparameters.lawa_every))
              for n in LAWA_LENGTHS})
  return out


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  return averagers.with_averages(baseline.make_tx(workload, hyperparameters),
                                 averages_of_the_run(hyperparameters))


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('nadamw_many_averages'))

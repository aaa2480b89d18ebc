"""Reusable runs (Hägele et al. 2024): NAdamW with a WSD schedule whose constant phase
spawns cooldown branches, each logged where it ends, so one run yields the endpoints of
several shorter WSD runs.

Branch k ends at E_k = branch_fraction_k * step_hint, for branch_fraction in {0.25, 0.5,
0.75}, and cools down over the last cooldown_fraction of its own length: it starts at
E_k - round(cooldown_fraction * E_k), so that its endpoint is that of an independent WSD run
of E_k steps (the same peak, warm-up steps, cooldown fraction and shape; `schedules.wsd` with
total_steps=E_k). The main run is the WSD run of the step hint. While a branch runs each
step takes a second forward/backward pass (timed; a branch's cost is its end step's).

Hyperparameters: those of `wsd` (cooldown_fraction sets every cooldown's fraction; at most
0.25, so that the last branch lies in the main run's constant phase).
Batch-norm statistics: kept (the main run's, also for branches).
Scoring reads `validation/<metric>` for the submission itself (the main WSD run) and
`validation/cooldown_<start>+<length>/<metric>` for each branch, which appears at the first
eval after the branch ends and stays fixed.
Search space: configs/search_spaces/wsd_branches.json.
"""

import optax

from configs.submissions import default_point
from submissions import optimizers
from submissions import wsd
from submissions.common.optax_submission import OptaxSubmission
from submissions.common.periods import to_steps

BRANCH_FRACTIONS = (0.25, 0.5, 0.75)


def branches(step_hint: int, cooldown_fraction: float) -> list[tuple[int, int]]:
  """(start, length) of each branch: the cooldown of a WSD run of E_k steps
  (`schedules.wsd`'s rounding), for the E_k that leave a positive start."""
  out = []
  for fraction in BRANCH_FRACTIONS:
    end = to_steps(fraction, step_hint)
    length = max(int(round(cooldown_fraction * end)), 1)
    if end - length > 0:
      out.append((end - length, length))
  return out


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  starts_and_lengths = branches(workload.step_hint, hyperparameters.cooldown_fraction)
  return optimizers.cooldown_branches(wsd.make_tx(workload, hyperparameters),
                                     [s for s, _ in starts_and_lengths],
                                     [d for _, d in starts_and_lengths],
                                     shape=getattr(hyperparameters, 'cooldown_shape', '1-sqrt'))


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('wsd_branches'))

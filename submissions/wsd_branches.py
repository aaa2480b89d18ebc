"""Reusable runs (Hägele et al. 2024): NAdamW with a WSD schedule whose constant phase
spawns cooldown branches, each logged where it ends, so one run yields the endpoints of
several shorter WSD runs.

Branch k starts at (branch_fraction_k - cooldown_fraction) * step_hint and cools down (1-sqrt)
over cooldown_fraction * step_hint steps, ending at branch_fraction_k * step_hint, for
branch_fraction in {0.25, 0.5, 0.75}; the main run cools down over the same length at the
end of the step hint. While a branch runs each step takes a second forward/backward pass
(timed; a branch's cost is its end step's).

Hyperparameters: those of `wsd` (cooldown_fraction sets every cooldown's length; it must be
at most 0.25 so that branches do not overlap).
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

BRANCH_FRACTIONS = (0.25, 0.5, 0.75)


def make_tx(workload, hyperparameters) -> optax.GradientTransformation:
  cooldown = max(1, round(hyperparameters.cooldown_fraction * workload.step_hint))
  starts = [round(f * workload.step_hint) - cooldown for f in BRANCH_FRACTIONS]
  return optimizers.cooldown_branches(wsd.make_tx(workload, hyperparameters),
                                     [s for s in starts if s > 0], cooldown,
                                     shape=getattr(hyperparameters, 'cooldown_shape', '1-sqrt'))


SUBMISSION = OptaxSubmission(make_tx=make_tx,
                            self_tuning_hyperparameters=default_point('wsd_branches'))

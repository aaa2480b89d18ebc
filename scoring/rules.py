"""Rule presets: what each AlgoPerf leaderboard version scores, and how.

The workload facts (metric, direction, target, budget, held-out variant -> base) come from
`configs.workloads`; this module adds the scoring protocol around them:

* v0.5 (the first competition, results of Aug 2024): 5 studies of 5 trials (external tuning),
  the six sampled held-out variants gate their base workloads, self-tuning gets 3x the budget.
* v0.6 (as its leaderboard of March 2025 was scored): the eight base workloads, 3 studies of
  5 trials, no held-out workloads, self-tuning gets 1.5x the budget.

Both score the benchmark as the area under the performance profile for tau in [1, 4], by the
trapezoid rule on 100 linearly spaced points, divided by 3, and set every time over 4x the
best time of its workload to infinity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from avgperf import trial_files
from configs import workloads as workload_configs

RULESETS = ('external', 'self')


@dataclasses.dataclass(frozen=True)
class Rules:
  """A scoring protocol.

  Attributes:
    name: 'v0.5' or 'v0.6'.
    workloads: every workload the version knows (base and held-out) -> its facts.
    scored: the base workloads of the performance profile, in leaderboard order.
    num_studies: studies per workload a complete submission has.
    num_trials: trials per study under external tuning (self-tuning: 1).
    held_out: whether held-out variants gate their base workloads.
    self_tuning_budget_factor: the budget multiplier of the self-tuning ruleset.
    budget_factor: multiplies every runtime budget (runs made with `--budget_factor` on a
      slower machine than the budgets were set for); the step budgets do not change.
    max_ratio: times over `max_ratio` x the best time of their workload count as misses.
    tau_max: the upper end of the scored tau range [1, tau_max].
    num_points: points of the trapezoid rule over that range.
  """

  name: str
  workloads: Mapping[str, workload_configs.WorkloadFacts]
  scored: tuple[str, ...]
  num_studies: int
  num_trials: int
  held_out: bool
  self_tuning_budget_factor: float  # trial_files.SELF_TUNING_BUDGET_FACTOR[name]
  budget_factor: float = 1.0
  max_ratio: float = 4.0
  tau_max: float = 4.0
  num_points: int = 100

  def budget(self, workload: str, ruleset: str) -> float:
    """The runtime budget in seconds of `workload` under `ruleset` ('external' or 'self')."""
    factor = self.self_tuning_budget_factor if ruleset == 'self' else 1.0
    return self.workloads[workload].max_runtime_sec * factor * self.budget_factor

  def step_budget(self, workload: str, ruleset: str) -> float:
    """The step hint of `workload`, times the self-tuning factor under 'self'."""
    factor = self.self_tuning_budget_factor if ruleset == 'self' else 1.0
    return self.workloads[workload].step_hint * factor

  def variants(self) -> dict[str, str]:
    """Held-out variant -> its base workload, for the variants that gate (empty if none)."""
    if not self.held_out:
      return {}
    return {name: f.base for name, f in self.workloads.items() if f.base is not None}


def preset(name: str, workloads: tuple[str, ...] | None = None) -> Rules:
  """The rules of leaderboard version `name`.

  Args:
    name: 'v0.5' or 'v0.6'.
    workloads: the base workloads to score instead of the leaderboard's (e.g. this project's
      CPU-sized 'digits'); each must be known to `configs.workloads.facts`.

  Returns:
    The preset.

  Raises:
    KeyError: an unknown version or workload.
  """
  if name not in workload_configs.RULES:
    raise KeyError(f'unknown rules {name!r}; choose one of {sorted(workload_configs.RULES)}')
  known = {**workload_configs.RULES[name], **workload_configs.SMALL}
  scored = tuple(workloads) if workloads else workload_configs.SCORED_BASE_WORKLOADS[name]
  for w in scored:
    workload_configs.facts(w, name)  # raises KeyError for an unknown workload
  if name == 'v0.5':
    return Rules(name, known, scored, num_studies=5, num_trials=5, held_out=True,
                 self_tuning_budget_factor=trial_files.SELF_TUNING_BUDGET_FACTOR[name])
  # v0.6: held-out variants were dropped; only base workloads are known.
  known = {w: f for w, f in known.items() if f.base is None}
  return Rules(name, known, scored, num_studies=3, num_trials=5, held_out=False,
               self_tuning_budget_factor=trial_files.SELF_TUNING_BUDGET_FACTOR[name])

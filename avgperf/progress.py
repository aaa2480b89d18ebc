"""The progress bar of a running trial."""

from __future__ import annotations

import math

from avgperf import spec
from avgperf import trial_files


class ProgressBar:
  """A progress bar: step, steps/s, the last validation metric against its target, budget."""

  def __init__(self, workload: spec.Workload, budget_sec: float, max_steps: int | None,
               step: int):
    from tqdm import tqdm  # pylint: disable=g-import-not-at-top

    self._workload = workload
    self._budget = budget_sec
    self._bar = tqdm(total=max_steps, initial=step, unit=' steps',
                     dynamic_ncols=True, mininterval=0.5, leave=True)
    self._last = step
    self._metric = 'n/a'

  def step(self, step: int, elapsed: float) -> None:
    if step != self._last:
      self._bar.update(step - self._last)
      self._last = step
    self._elapsed = elapsed

  def eval(self, metrics: dict) -> None:
    w = self._workload
    value = metrics.get(trial_files.column('validation', w.target_metric_name), math.nan)
    self._metric = f'{value:.4f}/{w.validation_target_value:g}'
    self._bar.set_postfix_str(
        f'val {w.target_metric_name} {self._metric}, budget '
        f'{100 * self._elapsed / self._budget:.0f}%', refresh=False)

  def close(self) -> None:
    self._bar.close()

"""Small fakes for runner tests: a clock that only moves when told, and wrappers around the
digits workload and the baseline submission that advance it."""

from __future__ import annotations

import dataclasses

from avgperf import runner
from avgperf import submission_loader
from avgperf import tuning
from workloads.digits.workload import DigitsWorkload

BASELINE_POINT = {'dropout_rate': 0.0, 'label_smoothing': 0.1,
                  'learning_rate': 0.001308209823469072, 'one_minus_beta1': 0.02686663061,
                  'beta2': 0.9981232922116359, 'weight_decay': 0.16375311233774334,
                  'warmup_factor': 0.1}


class FakeClock:
  def __init__(self):
    self.now = 0.0

  def __call__(self) -> float:
    return self.now


def baseline_hyperparameters(**overrides):
  return tuning.make_hyperparameters({**BASELINE_POINT, **overrides})


def trial_config(trial_dir, hyperparameters=None, **overrides) -> runner.TrialConfig:
  """A digits trial's config: the baseline's first point, its batch size, no checkpoints
  unless asked for, any other field overridden."""
  fields = {'rng_seed': 0, 'budget_sec': 1e9, 'batch_size': 64, 'checkpoint': False,
            **overrides}
  point = BASELINE_POINT if hyperparameters is None else hyperparameters
  return runner.TrialConfig(trial_dir=trial_dir, hyperparameters=point, **fields)


def slow_eval_workload(clock: FakeClock, eval_seconds: float, **facts) -> DigitsWorkload:
  """The digits workload whose evals take `eval_seconds` on `clock`."""
  workload = DigitsWorkload()
  for name, value in facts.items():
    setattr(workload, name, value)
  eval_model = workload.eval_model

  def slow_eval(*args, **kwargs):
    clock.now += eval_seconds
    return eval_model(*args, **kwargs)

  workload.eval_model = slow_eval
  return workload


def slow_submission(clock: FakeClock, step_seconds: float, name: str = 'baseline'):
  """The submission `name` whose update_params takes `step_seconds` on `clock`."""
  base = submission_loader.load(name)

  def slow_update(*args, **kwargs):
    clock.now += step_seconds
    return base.update_params(*args, **kwargs)

  return dataclasses.replace(base, update_params=slow_update)

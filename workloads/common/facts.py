"""Sets a workload class's targets and budgets from its facts: those in `configs/` (the one
place they live for the workloads of this repository), or those a workload from elsewhere
carries."""

from __future__ import annotations

from configs import workloads as workload_configs


def from_configs(cls):
  """Class decorator: copies the facts of `cls.name` (v0.6 rules) onto the class.

  Raises:
    configs.workloads.MissingFactsError: `cls.name` has no facts (it says where to add them).
  """
  f = workload_configs.facts(cls.name)
  cls.target_metric_name = f.metric
  cls.target_metric_mode = f.mode
  cls.validation_target_value = f.validation_target
  cls.test_target_value = f.test_target
  cls.max_allowed_runtime_sec = f.max_runtime_sec
  cls.step_hint = f.step_hint
  cls.eval_period_time_sec = f.eval_period_sec
  return cls


def with_facts(facts: workload_configs.WorkloadFacts):
  """Class decorator for a workload outside this repository: registers `facts` under the
  class's name for this process (so that batch sizes and targets are found by name), then
  applies them as `from_configs` does."""

  def decorate(cls):
    workload_configs.register(cls.name, facts)
    return from_configs(cls)

  return decorate

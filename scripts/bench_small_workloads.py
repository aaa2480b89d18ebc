"""The baseline on each small workload: time-to-target against the budget, on this machine.

    python scripts/bench_small_workloads.py [--workloads digits,imagenet_resnet_small,...]
        [--seeds 0,1]

Runs the baseline (the first point of its search space) with each seed until the target or
three times the budget, and prints the timed seconds and steps at the first eval reaching
the validation target, the share of the budget they are, and the wall time of the trial.
The small workloads' targets and budgets (configs/workloads.py) are set so that this share
is about 60-80% on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from avgperf import logs, runner, submission as submission_lib, tuning  # pylint: disable=g-import-not-at-top
from workloads import registry

SMALL = 'digits,imagenet_resnet_small,imagenet_vit_small,fastmri_small,finewebedu_lm_small'


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--workloads', default=SMALL)
  parser.add_argument('--seeds', default='0,1')
  args = parser.parse_args()
  baseline = submission_lib.load('baseline')
  hyperparameters = tuning.make_hyperparameters(
      tuning.load_search_space(baseline.default_search_space)[0])
  print(f'{"workload":<24}{"seed":>5}{"status":>16}{"target":>9}{"ttt s":>8}{"budget s":>10}'
        f'{"share":>7}{"steps":>7}{"step hint":>11}{"wall s":>8}')
  for name in args.workloads.split(','):
    for seed in map(int, args.seeds.split(',')):
      workload = registry.get(name)
      with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        record = runner.run_trial(workload, baseline, hyperparameters, runner.TrialConfig(
            trial_dir=Path(d), rng_seed=seed, budget_sec=3 * workload.max_allowed_runtime_sec,
            checkpoint=False))
        wall = time.perf_counter() - start
        rows = logs.EvalLog.load(Path(d) / logs.EVAL_MEASUREMENTS).rows
      reached = [r for r in rows if workload.has_reached_validation_target(r)]
      ttt = record.time_to_target if reached else float('inf')
      steps = int(reached[0]['global_step']) if reached else record.global_step
      budget = workload.max_allowed_runtime_sec
      print(f'{name:<24}{seed:>5}{record.status:>16}{workload.validation_target_value:>9g}'
            f'{ttt:>8.1f}{budget:>10.0f}{ttt / budget:>7.0%}{steps:>7}{workload.step_hint:>11}'
            f'{wall:>8.1f}', flush=True)


if __name__ == '__main__':
  main()

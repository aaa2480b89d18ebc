"""The baseline on each small workload: time-to-target against the budget, on this machine.

    python scripts/bench_small_workloads.py [--workloads digits,imagenet_resnet_small,...]
        [--seeds 0,1]

Runs the baseline (the first point of its search space) with each seed until the target or
three times the budget, and prints the timed seconds and steps at the first eval reaching
the validation target, the share of the budget they are, and the wall time of the trial.
The small workloads' targets and budgets (configs/workloads.py) are set so that this share
is about 60-80% on 2 CPU cores. `eval %` is the share of the trial's wall time spent in
evals (untimed, but a user waits for it; the goal is at most 10%).
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

from avgperf import runner, submission_loader, trial_files, tuning  # pylint: disable=g-import-not-at-top
from configs import workloads as workload_configs  # pylint: disable=g-import-not-at-top
from workloads import registry  # pylint: disable=g-import-not-at-top

SMALL = ','.join(sorted(workload_configs.SMALL))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--workloads', default=SMALL)
  parser.add_argument('--seeds', default='0,1')
  args = parser.parse_args()
  baseline = submission_loader.load('baseline')
  point = tuning.load_search_space(baseline.default_search_space)[0]
  print(f'{"workload":<24}{"seed":>5}{"status":>16}{"target":>9}{"ttt s":>8}{"budget s":>10}'
        f'{"share":>7}{"steps":>7}{"step hint":>11}{"wall s":>8}{"eval %":>8}')
  for name in args.workloads.split(','):
    for seed in map(int, args.seeds.split(',')):
      workload = registry.get(name)
      with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        record = runner.run_trial(workload, baseline, runner.TrialConfig(
            trial_dir=Path(d), rng_seed=seed, budget_sec=3 * workload.max_allowed_runtime_sec,
            batch_size=baseline.get_batch_size(name), hyperparameters=point,
            checkpoint=False))
        wall = time.perf_counter() - start
        rows = trial_files.EvalLog.load(Path(d) / trial_files.EVAL_MEASUREMENTS).rows
      reached = [r for r in rows if workload.has_reached_validation_target(r)]
      ttt = record.time_to_target if reached else float('inf')
      steps = int(reached[0]['global_step']) if reached else record.global_step
      budget = workload.max_allowed_runtime_sec
      eval_share = rows[-1]['accumulated_eval_time'] / rows[-1]['total_duration']
      print(f'{name:<24}{seed:>5}{record.status:>16}{workload.validation_target_value:>9g}'
            f'{ttt:>8.1f}{budget:>10.0f}{ttt / budget:>7.0%}{steps:>7}{workload.step_hint:>11}'
            f'{wall:>8.1f}{eval_share:>8.0%}', flush=True)


if __name__ == '__main__':
  main()

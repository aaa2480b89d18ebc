"""Sets the small workloads' targets and budgets the way AlgoPerf set its own: from repeated
runs of a strong baseline, here AlgoPerf's NAdamW baseline at the first point of its search
space, and writes them to configs/small_targets.json.

    python scripts/set_targets.py [--workloads digits,ogbg_small,...] [--seeds 0,1,2]
        [--fraction 0.55] [--share 0.7] [--step_hint digits=6000,...] [--dry_run]

For each workload, each seed trains for the workload's step hint (the baseline's schedule
ends there) with an eval every 1/40 of it, on an unlimited budget. Then:

* validation target: the median over seeds of the best validation metric reached within the
  first `--fraction` of the step hint (AlgoPerf takes the median best of its target-setting
  runs; taking it at a fraction of the schedule puts the baseline's median steps-to-target
  there, so that reaching the target takes a run as good as the baseline's);
* test target: the same for the test metric, at the eval where each seed was best;
* budget: the median seconds of timed training to the validation target, divided by
  `--share` (the baseline then spends about that share of its budget), rounded up to 5 s.

It prints, per workload, the compilation time of the first step against the time to target
(the goal: at most 10%, or the target measures compilation more than training; raise the
step hint with `--step_hint name=steps` where it is not met), and writes the JSON unless
`--dry_run`. Timings are this machine's: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from avgperf import runner, submission_loader, trial_files, tuning  # pylint: disable=g-import-not-at-top
from configs import workloads as workload_configs  # pylint: disable=g-import-not-at-top
from workloads import registry  # pylint: disable=g-import-not-at-top

EVALS_PER_RUN = 40


def _run(name: str, seed: int, step_hint: int) -> list[dict]:
  """The eval rows of one baseline run of `step_hint` steps."""
  workload = registry.get(name)
  workload.step_hint = step_hint
  unreachable = math.inf if workload.target_metric_mode == 'max' else -math.inf
  workload.validation_target_value = workload.test_target_value = unreachable  # run it all
  baseline = submission_loader.load('baseline')
  point = tuning.load_search_space(baseline.default_search_space)[0]
  with tempfile.TemporaryDirectory() as d:
    runner.run_trial(workload, baseline, runner.TrialConfig(
        trial_dir=Path(d), rng_seed=seed, budget_sec=math.inf,
        batch_size=baseline.get_batch_size(name), hyperparameters=point,
        max_global_steps=step_hint, eval_every_steps=max(1, step_hint // EVALS_PER_RUN),
        checkpoint=False))
    return trial_files.EvalLog.load(Path(d) / trial_files.EVAL_MEASUREMENTS).rows


def _best(rows: list[dict], column: str, mode: str, up_to_step: float) -> tuple[float, dict]:
  candidates = [r for r in rows if r['global_step'] <= up_to_step]
  pick = max if mode == 'max' else min
  row = pick(candidates, key=lambda r: r[column])
  return row[column], row


def _round_reachable(value: float, mode: str) -> float:
  """`value` to 6 decimals, rounded towards reachable (down for 'max', up for 'min'): a
  target rounded the other way can sit just beyond the very metric it was taken from."""
  scaled = value * 1e6
  return (math.floor(scaled + 1e-6) if mode == 'max' else math.ceil(scaled - 1e-6)) / 1e6


def calibrate(name: str, seeds: list[int], step_hint: int, fraction: float,
              share: float) -> dict:
  """The facts of one workload from its seeds' runs, and what was measured."""
  facts = workload_configs.facts(name)
  runs = [_run(name, seed, step_hint) for seed in seeds]
  column = trial_files.column('validation', facts.metric)
  test_column = trial_files.column('test', facts.metric)
  bests = [_best(rows, column, facts.mode, fraction * step_hint) for rows in runs]
  target = _round_reachable(statistics.median(value for value, _ in bests), facts.mode)
  test_target = _round_reachable(statistics.median(row[test_column] for _, row in bests),
                                 facts.mode)
  reached = []
  for rows in runs:
    hit = next((r for r in rows if trial_files.reached(r[column], target, facts.mode)), None)
    if hit is not None:
      reached.append((hit['score'], hit['global_step']))
  seconds = statistics.median(t for t, _ in reached)
  first = [rows[0] for rows in runs]
  per_step = [(r[-1]['score'] - r[0]['score']) / (r[-1]['global_step'] - r[0]['global_step'])
              for r in runs]
  compile_s = statistics.median(f['score'] - f['global_step'] * p
                                for f, p in zip(first, per_step))
  return {
      'validation_target': target, 'test_target': test_target,
      'max_runtime_sec': 5 * math.ceil(seconds / share / 5), 'step_hint': step_hint,
      'measured': {'seeds': seeds, 'seconds_to_target': [round(t, 2) for t, _ in reached],
                   'steps_to_target': [int(s) for _, s in reached],
                   'compile_seconds': round(compile_s, 2), 'share': share},
  }


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--workloads', default=','.join(sorted(workload_configs.SMALL)))
  parser.add_argument('--seeds', default='0,1,2')
  parser.add_argument('--fraction', type=float, default=0.55)
  parser.add_argument('--share', type=float, default=0.7)
  parser.add_argument('--step_hint', default='', help='name=steps,... to change step hints')
  parser.add_argument('--dry_run', action='store_true', help='print, write nothing')
  args = parser.parse_args()
  hints = dict(item.split('=') for item in args.step_hint.split(',') if item)
  path = Path(workload_configs.SMALL_TARGETS)
  table = json.loads(path.read_text())
  seeds = [int(s) for s in args.seeds.split(',')]
  for name in args.workloads.split(','):
    hint = int(hints.get(name, workload_configs.facts(name).step_hint))
    result = calibrate(name, seeds, hint, args.fraction, args.share)
    measured = result['measured']
    ttt = statistics.median(measured['seconds_to_target'])
    print(f'{name}: target {result["validation_target"]} (test {result["test_target"]}), '
          f'reached at steps {measured["steps_to_target"]} of {hint}, after '
          f'{measured["seconds_to_target"]} s; budget {result["max_runtime_sec"]} s; '
          f'compilation {measured["compile_seconds"]} s = '
          f'{measured["compile_seconds"] / ttt:.0%} of the time to target', flush=True)
    result['measured'].update(date=datetime.date.today().isoformat(),
                              machine=f'{platform.machine()}, {os.cpu_count()} CPUs')
    table[name] = result
    if not args.dry_run:
      path.write_text(json.dumps(table, indent=2, sort_keys=True) + '\n')


if __name__ == '__main__':
  main()

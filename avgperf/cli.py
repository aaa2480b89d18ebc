"""The `avgperf` command: run, list, describe, score, plot.

The only place that parses flags; everything else takes explicit arguments.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from avgperf.errors import UsageError


def _run(args) -> int:
  from avgperf import experiment  # pylint: disable=g-import-not-at-top
  from avgperf import submission_loader  # pylint: disable=g-import-not-at-top

  if args.study is not None and args.num_studies is not None:
    raise UsageError('give --study or --num_studies, not both')
  studies = ([args.study] if args.study is not None else
             list(range(args.num_studies)) if args.num_studies is not None else None)
  workload = _workload(args.workload)
  submission = submission_loader.load(args.submission)
  config = experiment.ExperimentConfig(
      experiment_dir=Path(args.experiment_dir), ruleset=args.tuning_ruleset,
      tuning_search_space=Path(args.tuning_search_space) if args.tuning_search_space else None,
      num_tuning_trials=args.num_tuning_trials, studies=studies, rng_seed=args.rng_seed,
      max_global_steps=args.max_global_steps, eval_every_steps=args.eval_every_steps,
      data_dir=args.data_dir, resume=args.resume, progress=not args.no_progress,
      budget_factor=args.budget_factor)

  def report(record):
    ttt = (f'time-to-target {record.time_to_target:.2f} s' if record.time_to_target is not None
           else 'target not reached')
    print(f'{record.trial_dir}: {record.status} at step {record.global_step}, {ttt} '
          f'({record.accumulated_submission_time:.2f} s timed)', flush=True)

  records = experiment.run(config, workload, submission, on_trial_end=report)
  if records and all(r.finished_before for r in records):
    print(f'nothing to do: all {len(records)} trials under {Path(args.experiment_dir).resolve()} '
          'have finished')
  times = [r.time_to_target for r in records if r.time_to_target is not None]
  best = f'{min(times):.2f} s' if times else 'never (no trial reached the target)'
  print(f'logs: {Path(args.experiment_dir).resolve()}  best time-to-target: {best}')
  return 0


def _suite(args) -> int:
  from avgperf import suite as suite_lib  # pylint: disable=g-import-not-at-top

  run = suite_lib.make_run(args.suite, args.experiment_dir,
                           args.submissions.split(',') if args.submissions else None,
                           args.num_studies, args.data_dir, args.rng_seed,
                           args.max_global_steps, args.eval_every_steps,
                           args.workloads.split(',') if args.workloads else None,
                           args.budget_factor)
  if args.workers < 1:
    raise UsageError(f'--workers must be at least 1, got {args.workers}')

  def report(task, record):
    if record is None:
      print(f'{task}: held by another worker', flush=True)
    elif not record.finished_before:
      ttt = (f'time-to-target {record.time_to_target:.2f} s'
             if record.time_to_target is not None else 'target not reached')
      print(f'{task}: {record.status} at step {record.global_step}, {ttt}', flush=True)

  if args.worker:
    suite_lib.work(run, report)
    return 0
  suite_lib.check(run)
  todo = suite_lib.pending(run)
  print(f'suite {run.suite.name}: {len(suite_lib.tasks(run))} trials, {len(todo)} to run, in '
        f'{run.experiment_dir.resolve()}', flush=True)
  if todo:
    if args.launcher == 'slurm':
      from avgperf import slurm  # pylint: disable=g-import-not-at-top
      slurm.run(run, todo, partition=args.slurm_partition, parallelism=args.workers,
                timeout_min=args.slurm_timeout_min, gpus_per_task=args.slurm_gpus_per_task)
    elif args.workers == 1:
      suite_lib.work(run, report)
    else:
      code = suite_lib.run_local(run, args.workers,
                                 suite_lib.python_command() + ['suite', *_worker_args(args)])
      if code:
        return code
  return _suite_scores(run)


def _worker_args(args) -> list[str]:
  """The command line of one local worker: this suite, this folder, as a worker."""
  out = [f'--suite={args.suite}', f'--experiment_dir={args.experiment_dir}', '--worker',
         f'--rng_seed={args.rng_seed}']
  for name in ('submissions', 'workloads'):
    if getattr(args, name):
      out.append(f'--{name}={getattr(args, name)}')
  out.append(f'--budget_factor={args.budget_factor}')
  if args.num_studies is not None:
    out.append(f'--num_studies={args.num_studies}')
  for name in ('data_dir', 'max_global_steps', 'eval_every_steps'):
    if getattr(args, name) is not None:
      out.append(f'--{name}={getattr(args, name)}')
  return out


def _suite_scores(run) -> int:
  """Scores a suite's folder and writes its report; prints where they are."""
  import scoring  # pylint: disable=g-import-not-at-top

  reference = 'baseline' if 'baseline' in run.submissions else None
  out = run.experiment_dir / 'scores'
  board = scoring.score_logs(
      run.experiment_dir, rules=run.suite.rules, workloads=run.workloads,
      num_studies=run.num_studies, num_trials=run.suite.num_tuning_trials, reference=reference,
      bootstrap=1000 if run.num_studies > 1 else 0, averages=True,
      budget_factor=run.budget_factor)
  for line in board.warnings:
    print(f'avgperf: warning: {line}', file=sys.stderr)
  scoring.write_outputs(board, out)
  print(board.format())
  report = scoring.write_report(run.experiment_dir, board, run.experiment_dir / 'report.html')
  print(f'scores: {out.resolve()}\nreport: {report.resolve()}')
  return 0


def _export(args) -> int:
  from avgperf import final_params  # pylint: disable=g-import-not-at-top

  trial_dir, out = Path(args.trial_dir), Path(args.out)
  try:
    names = final_params.meta(trial_dir)['names']
  except FileNotFoundError:
    raise UsageError(f'{trial_dir} holds no final weights (final/meta.json): is it a trial '
                     'folder of a finished run?') from None
  if args.average not in names:
    raise UsageError(f'{trial_dir} has no weights named {args.average!r}; it has '
                     f'{", ".join(names)}')
  if out.exists():
    raise UsageError(f'{out} exists; choose another --out')
  tree = final_params.load(trial_dir, args.average)
  out.parent.mkdir(parents=True, exist_ok=True)
  if out.suffix == '.npz':
    np.savez(out, **final_params.flatten(tree))
  else:
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
    with ocp.StandardCheckpointer() as checkpointer:
      checkpointer.save(out.absolute(), tree)
  print(f'{out}: {args.average} of {trial_dir} (step {final_params.meta(trial_dir)["global_step"]})')
  return 0


def _workload(name: str):
  from configs import workloads as workload_configs  # pylint: disable=g-import-not-at-top
  from workloads import registry  # pylint: disable=g-import-not-at-top

  try:
    return registry.get(name)
  except workload_configs.MissingFactsError as e:
    raise UsageError(e.args[0]) from None


def _count(tree) -> int:
  import jax  # pylint: disable=g-import-not-at-top

  return sum(math.prod(x.shape) for x in jax.tree.leaves(tree))


def _workload_summary(name: str) -> dict:
  w = _workload(name)
  params, state = w.abstract_init()
  return {'name': name, 'params': _count(params), 'model_state': _count(state),
          'dataset': w.dataset, 'metric': w.target_metric_name, 'mode': w.target_metric_mode,
          'validation_target': w.validation_target_value, 'test_target': w.test_target_value,
          'budget_sec': w.max_allowed_runtime_sec, 'step_hint': w.step_hint,
          'eval_period_sec': w.eval_period_time_sec}


def _list(args) -> int:
  from avgperf import submission_loader  # pylint: disable=g-import-not-at-top
  from workloads import registry  # pylint: disable=g-import-not-at-top

  workloads = [_workload_summary(n) for n in registry.names()]
  submissions = []
  for name in submission_loader.available():
    s = submission_loader.load(name)
    submissions.append({'name': name, 'description': submission_loader.description(name),
                        'search_space': str(s.default_search_space) if s.default_search_space
                        else None})
  if args.json:
    print(json.dumps({'workloads': workloads, 'submissions': submissions}, indent=2))
    return 0
  print(f'{"workload":<24}{"params":>14}{"state":>10}  {"metric":<34}{"target":<13}'
        f'{"budget s":>10}{"step hint":>11}  dataset')
  for w in workloads:
    arrow = '>=' if w['mode'] == 'max' else '<='
    print(f'{w["name"]:<24}{w["params"]:>14,}{w["model_state"]:>10,}  '
          f'{"validation/" + w["metric"]:<34}{arrow} {w["validation_target"]:<10g}'
          f'{w["budget_sec"]:>10,.0f}{w["step_hint"]:>11,}  {w["dataset"]}')
  print()
  print(f'{"submission":<24}description')
  for s in submissions:
    print(f'{s["name"]:<24}{s["description"]}')
  return 0


def _describe(args) -> int:
  import jax  # pylint: disable=g-import-not-at-top

  w = _workload(args.workload)
  params, state = w.abstract_init()
  collections = {'params': params, 'model_state': state}
  out = {}
  for collection, tree in collections.items():
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    out[collection] = {
        'shapes': {jax.tree_util.keystr(path, simple=True, separator='/'): list(leaf.shape)
                   for path, leaf in leaves},
        'total': _count(tree)}
  if args.json:
    print(json.dumps({'workload': args.workload, **out}, indent=2))
    return 0
  for collection, info in out.items():
    print(f'{collection}:')
    for path, shape in info['shapes'].items():
      print(f'  {path:<60} {str(tuple(shape)):>22} {math.prod(shape):>14,}')
    print(f'  {"total":<60} {"":>22} {info["total"]:>14,}')
  return 0


def _score(args) -> int:
  import scoring  # pylint: disable=g-import-not-at-top

  board = scoring.score_logs(
      args.logs_dir, rules=args.rules, ruleset=args.ruleset, reference=args.reference,
      time_col=args.time_col, bootstrap=args.bootstrap, seed=args.seed, averages=args.averages,
      workloads=tuple(args.workloads.split(',')) if args.workloads else None,
      num_studies=args.num_studies, budget_factor=args.budget_factor)
  for line in board.warnings:
    print(f'avgperf: warning: {line}', file=sys.stderr)
  written = scoring.write_outputs(board, args.out)
  print(board.format())
  print(f'wrote {", ".join(str(p) for p in written)}')
  return 0


def _plot(args) -> int:
  import scoring  # pylint: disable=g-import-not-at-top

  dirs = args.trial_dirs or scoring.select_trials(
      args.logs_dir, submission=args.submission, workload=args.workload, study=args.study,
      trial=args.trial)
  if not dirs:
    found = scoring.find_trials(args.logs_dir)
    raise UsageError(
        f'no trial under {args.logs_dir} matches the filters; it holds submissions '
        f'{", ".join(sorted({t.submission for t in found})) or "(none)"} and workloads '
        f'{", ".join(sorted({t.workload for t in found})) or "(none)"}')
  Path(args.out).parent.mkdir(parents=True, exist_ok=True)
  path, warnings = scoring.plot_curves(dirs, args.out, x=args.x, rules=args.rules)
  for line in warnings:
    print(f'avgperf: warning: {line}', file=sys.stderr)
  if path is None:
    raise scoring.ScoringError('no trial could be plotted')
  print(path)
  return 0


def _subcommand(sub, name: str, help_text: str, description: str | None = None):
  return sub.add_parser(name, help=help_text, description=description or help_text,
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)


BUDGET_FACTOR_HELP = ('multiply every time budget by this, on a machine slower than the one '
                      'the budgets were set for (the small workloads: configs/'
                      'small_targets.json); step budgets do not change')

def _add_run(sub) -> None:
  run = _subcommand(
      sub, 'run', 'train a submission on a workload until a stop rule fires',
      'Runs the trials of a submission on a workload. Timed: data_selection, '
      'update_params, prepare_for_eval; untimed: evals, logging, checkpoints. A trial stops '
      'at its targets, its budget, --max_global_steps, divergence, or when the submission '
      'says so.')
  run.add_argument('--workload', default='digits',
                   help='a registered workload (`avgperf list`), or module:Class or '
                   'path/to/file.py:Class')
  run.add_argument('--submission', default='baseline',
                   help='a named submission (`avgperf list`), or the path of a .py file')
  run.add_argument('--experiment_dir', default='experiments',
                   help='where [study_<s>/]<workload>_jax/trial_<k>/ folders go')
  run.add_argument('--tuning_ruleset', choices=('external', 'self'), default='external',
                   help='external: trials from a search space; self: one trial, no '
                   'hyperparameters, 1.5x the budget')
  run.add_argument('--tuning_search_space',
                   help="a search space JSON (AlgoPerf's format); default: the submission's")
  run.add_argument('--num_tuning_trials', type=int, default=1, help='trials per study')
  run.add_argument('--study', type=int, help='run only this study (folder study_<k>)')
  run.add_argument('--num_studies', type=int, help='run studies 0..N-1 (folders study_<k>)')
  run.add_argument('--rng_seed', type=int, default=0,
                   help='the experiment seed; studies and trials derive their own')
  run.add_argument('--max_global_steps', type=int, help='stop each trial after this many steps')
  run.add_argument('--eval_every_steps', type=int,
                   help='eval every N steps (hardware-independent) instead of every '
                   'eval_period_time_sec of timed training')
  run.add_argument('--data_dir', help='the dataset folder, for workloads that read one')
  run.add_argument('--budget_factor', type=float, default=1.0, help=BUDGET_FACTOR_HELP)
  run.add_argument('--resume', action='store_true',
                   help='continue unfinished trials from their last checkpoint')
  run.add_argument('--no_progress', action='store_true', help='no progress bar')
  run.set_defaults(func=_run)


def _add_suite(sub) -> None:
  from configs import suites  # pylint: disable=g-import-not-at-top

  suite = _subcommand(
      sub, 'suite', 'run a suite of workloads x submissions x studies, score it, write the '
      'report', 'Runs every trial of a suite (skipping finished ones, resuming interrupted '
      'ones), scores the folder and writes <experiment_dir>/report.html. Suites: ' +
      '; '.join(f'{s.name}: {s.description}' for s in suites.SUITES.values()) + '.')
  suite.add_argument('--suite', default='quick', choices=sorted(suites.SUITES),
                     help='which suite (configs/suites.py)')
  suite.add_argument('--submissions', help="comma-separated submissions instead of the "
                     "suite's")
  suite.add_argument('--experiment_dir', default='experiments/suite',
                     help='where <submission>/study_<s>/<workload>_jax/trial_<k>/ go')
  suite.add_argument('--workloads', help="comma-separated workloads of the suite to run, in "
                     "this order, instead of all of them")
  suite.add_argument('--num_studies', type=int, help="studies instead of the suite's")
  suite.add_argument('--budget_factor', type=float, default=1.0, help=BUDGET_FACTOR_HELP)
  suite.add_argument('--launcher', choices=('local', 'slurm'), default='local',
                     help='local: processes on this machine; slurm: a SLURM job array '
                     '(submitit), one task per trial')
  suite.add_argument('--workers', type=int, default=1,
                     help='local: worker processes (one GPU each where there are several); '
                     'slurm: array tasks at once')
  suite.add_argument('--slurm_partition', help='the SLURM partition (default: the cluster\'s)')
  suite.add_argument('--slurm_timeout_min', type=int, default=60,
                     help='the time limit of each SLURM task, in minutes (a trial that '
                     'outlasts it is requeued and resumes from its last checkpoint)')
  suite.add_argument('--slurm_gpus_per_task', type=int,
                     help='GPUs SLURM gives each task for itself (--gpus-per-task); without '
                     'it tasks that share a node share its devices, allocating on demand')
  suite.add_argument('--data_dir', help='the datasets folder, for workloads that read one')
  suite.add_argument('--rng_seed', type=int, default=0, help='the suite\'s seed')
  suite.add_argument('--max_global_steps', type=int,
                     help='stop every trial after this many steps (a smoke test)')
  suite.add_argument('--eval_every_steps', type=int,
                     help='eval every this many steps instead of every eval period of timed '
                     'training (evals at the same steps in every run)')
  suite.add_argument('--worker', action='store_true',
                     help='run as one worker of a local launcher (used by the launcher)')
  suite.set_defaults(func=_suite)


def _add_export(sub) -> None:
  export = _subcommand(
      sub, 'export', "a trial's final weights (raw, evaluated, or an average) as a file",
      "Writes the weights a finished trial saved in final/: as an .npz (keys like "
      "params/Dense_0/kernel, model_state/...) when --out ends in .npz, else an orbax folder.")
  export.add_argument('trial_dir', help='a trial folder (.../<workload>_jax/trial_<k>)')
  export.add_argument('--average', default='evaluated',
                      help="raw (the trained weights), evaluated (what the trial's eval saw) "
                      'or the name of an average (as in its columns, e.g. ema_0.99)')
  export.add_argument('--out', required=True, help='the .npz file or orbax folder to write')
  export.set_defaults(func=_export)


def _add_inspection(sub) -> None:
  lst = _subcommand(sub, 'list', 'the workloads and submissions')
  lst.add_argument('--json', action='store_true', help='print JSON')
  lst.set_defaults(func=_list)
  describe = _subcommand(sub, 'describe', "a workload's parameter tree (costs no memory)")
  describe.add_argument('workload', help='a registered workload, or module:Class')
  describe.add_argument('--json', action='store_true', help='print JSON')
  describe.set_defaults(func=_describe)


def _add_score(sub) -> None:
  score = _subcommand(
      sub, 'score', 'time-to-target, performance profiles and benchmark scores from logs',
      'Scores every submission under LOGS_DIR and writes scores.csv, '
      'time_to_target.csv, steps_to_target.csv, ratios.csv and performance_profiles.png '
      'into --out. Unreadable files are reported and skipped.')
  score.add_argument('logs_dir', help='a folder of <submission>/study_<k>/<workload>_<framework>'
                     '/trial_<i>/ logs, or an experiment dir of `avgperf run`')
  score.add_argument('--rules', choices=('v0.5', 'v0.6'), default='v0.6',
                     help='targets, budgets, studies and held-out gates of this version')
  score.add_argument('--ruleset', choices=('external', 'self'), default='external',
                     help='external: best trial per study, median over studies; self: one '
                     'trial per study and the larger budget')
  score.add_argument('--reference', help='divide by this submission instead of the best, '
                     "and report each one's speedup over it")
  score.add_argument('--time_col', choices=('score', 'global_step'), default='score',
                     help='time-to-target in seconds, or steps-to-target')
  score.add_argument('--bootstrap', type=int, default=0,
                     help='replicates of a bootstrap over studies (95%% intervals)')
  score.add_argument('--seed', type=int, default=0, help="the bootstrap's seed")
  score.add_argument('--averages', action='store_true',
                     help='score each averaged-weight column as its own submission')
  score.add_argument('--workloads', help="comma-separated workloads to score (default: the "
                     "rules' base workloads, or those found)")
  score.add_argument('--num_studies', type=int,
                     help="studies per workload instead of the rules' (missing ones are misses)")
  score.add_argument('--budget_factor', type=float, default=1.0,
                     help='the runs\' --budget_factor: multiplies every time budget')
  score.add_argument('--out', default='scores', help='the output folder (created)')
  score.set_defaults(func=_score)


def _add_plot(sub) -> None:
  plot = _subcommand(sub, 'plot', 'validation curves of chosen trials, with the target',
                     'Draws validation-metric curves against time or steps, '
                     'raw and averaged-weight columns side by side, the target dashed.')
  plot.add_argument('logs_dir', nargs='?', default='.',
                    help='a logs folder to choose trials from with the filters below')
  plot.add_argument('--trial_dirs', nargs='+', help='trial folders to plot instead')
  plot.add_argument('--submission', help='only trials of this submission')
  plot.add_argument('--workload', help='only trials of this workload')
  plot.add_argument('--study', type=int, help='only trials of this study')
  plot.add_argument('--trial', type=int, help='only trials with this number')
  plot.add_argument('--x', choices=('score', 'global_step'), default='score',
                    help='time or steps on the x axis')
  plot.add_argument('--rules', choices=('v0.5', 'v0.6'), default='v0.6',
                    help='whose targets to draw')
  plot.add_argument('--out', default='curves.png', help='the PNG to write (folder created)')
  plot.set_defaults(func=_plot)


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog='avgperf', description='Time-to-target benchmarks for training algorithms '
      '(AlgoPerf-compatible), with weight averaging and annealing.')
  sub = parser.add_subparsers(dest='command', required=True)
  _add_run(sub)
  _add_suite(sub)
  _add_export(sub)
  _add_inspection(sub)
  _add_score(sub)
  _add_plot(sub)
  return parser


def main(argv=None) -> int:
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  args = build_parser().parse_args(argv)
  from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top

  absl_logging.set_verbosity(absl_logging.WARNING)
  try:
    return args.func(args)
  except UsageError as e:
    print(f'avgperf: error: {e}', file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print('avgperf: interrupted; continue with --resume', file=sys.stderr)
    return 130


if __name__ == '__main__':
  sys.exit(main())

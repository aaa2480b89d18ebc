"""Scoring: folders of trial logs -> time-to-target, performance profiles, benchmark scores.

Reads AlgoPerf's layout (`<submission>/study_<k>/<workload>_<framework>/trial_<i>/
eval_measurements.csv`), which the runner also writes, and the workload facts in `configs/`;
never imports the runner, the models or the workloads. Reproduces the published AlgoPerf
v0.5 external-tuning scores (see tests/scoring/test_published_scores.py).

Typical use:

  board = score_logs('logs/', rules='v0.5', ruleset='external')
  for line in board.warnings: print(line, file=sys.stderr)
  print(board.format())
  write_outputs(board, 'out/')
"""

from scoring.errors import ScoringError
from scoring.logs import find_trials, select_trials
from scoring.html_report import write_report
from scoring.plots import plot_curves
from scoring.plots import plot_profiles
from scoring.report import Leaderboard
from scoring.report import score_logs
from scoring.report import write_outputs
from scoring.rules import preset

__all__ = ['Leaderboard', 'ScoringError', 'plot_curves', 'plot_profiles', 'preset',
           'score_logs', 'select_trials', 'write_outputs', 'write_report', 'find_trials']

"""Figures: performance profiles, and validation curves of chosen trials.

Both draw on a bare `matplotlib.figure.Figure` (no pyplot state, no display needed) and save
a PNG at 200 dpi with labelled axes and a legend.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from avgperf import trial_files
from configs import workloads as workload_configs
from scoring import logs as logs_lib
from scoring import profiles
from scoring import time_to_target

_STYLES = ('-', '--', '-.', ':')
X_LABELS = {'score': 'time (s of timed training)', 'global_step': 'optimizer steps'}


def plot_profiles(leaderboard, out_path: str | os.PathLike, dpi: int = 200) -> Path:
  """Writes `profiles_figure(leaderboard)` as a PNG at `out_path`; returns the path."""
  profiles_figure(leaderboard).savefig(out_path, dpi=dpi)
  return Path(out_path)


def profiles_figure(leaderboard) -> Figure:
  """rho(tau) of every submission on a log-scaled tau axis over [1, tau_max].

  Args:
    leaderboard: a `scoring.report.Leaderboard`.

  Returns:
    The figure: one step curve per submission, labelled with its score, best first.
  """
  ratios = leaderboard.ratios
  tau_max = float(leaderboard.profiles.columns.max())
  tau = np.geomspace(1.0, tau_max, 2000)
  rho = profiles.profile(ratios.to_numpy(), tau)
  fig = Figure(figsize=(9.0, 5.0), layout='constrained')
  ax = fig.add_subplot()
  colors = [f'C{i % 10}' for i in range(len(ratios))]
  for i, name in enumerate(ratios.index):
    score = leaderboard.scores.loc[name, 'score']
    ax.plot(tau, rho[i], drawstyle='steps-post', color=colors[i],
            linestyle=_STYLES[(i // 10) % len(_STYLES)], linewidth=1.8,
            label=f'{name} ({score:.4f})')
  ax.set_xscale('log')
  ticks = [t for t in (1, 1.25, 1.5, 2, 2.5, 3, 4, 6, 8) if t <= tau_max]
  ax.xaxis.set_major_locator(FixedLocator(ticks))
  ax.xaxis.set_major_formatter(lambda v, _: f'{v:g}')
  ax.xaxis.set_minor_locator(NullLocator())
  ax.xaxis.set_minor_formatter(NullFormatter())
  ax.set_xlim(1.0, tau_max)
  ax.set_ylim(-0.015, 1.02)
  what = 'steps' if leaderboard.time_col == 'global_step' else 'time'
  versus = leaderboard.reference or 'the fastest submission'
  ax.set_xlabel(f'τ: {what} to target relative to {versus} (log scale)')
  ax.set_ylabel(f'ρ(τ): fraction of the {len(ratios.columns)} workloads')
  ax.set_title(f'Performance profiles, AlgoPerf {leaderboard.rules} rules, '
               f'{leaderboard.ruleset} tuning')
  ax.grid(True, which='major', alpha=0.3)
  ax.legend(title='submission (score)', loc='center left', bbox_to_anchor=(1.01, 0.5),
            fontsize='small', frameon=False)
  return fig


def _trial_path(trial_dir: Path) -> logs_lib.TrialPath:
  workload, framework = logs_lib.split_workload_folder(trial_dir.parent.name)
  number = trial_dir.name.rpartition('_')[2]
  return logs_lib.TrialPath(trial_dir.parent.parent.name, 0, workload, framework,
                            int(number) if number.isdigit() else 0,
                            trial_dir / trial_files.EVAL_MEASUREMENTS)


def _label(trial_dir: Path) -> str:
  parts = trial_dir.resolve().parts
  return '/'.join(p for p in parts[-4:] if not p.endswith(('_jax', '_pytorch')))


def plot_curves(trial_dirs: Sequence[str | os.PathLike], out_path: str | os.PathLike,
                x: str = 'score', rules: str = 'v0.6', dpi: int = 200,
                ) -> tuple[Path | None, list[str]]:
  """Writes `curves_figure(trial_dirs, x, rules)` as a PNG at `out_path`.

  Returns:
    (`out_path`, or None when no trial could be read; one warning line per trial skipped).
  """
  fig, warnings = curves_figure(trial_dirs, x, rules)
  if fig is None:
    return None, warnings
  fig.savefig(out_path, dpi=dpi)
  return Path(out_path), warnings


def curves_figure(trial_dirs: Sequence[str | os.PathLike], x: str = 'score',
                  rules: str = 'v0.6') -> tuple[Figure | None, list[str]]:
  """The validation target metric of each trial against time or steps.

  One row of axes per workload; the raw weights on the left and, when a trial logged
  averaged-weight columns, the averages on the right (same y axis); the target as a dashed
  horizontal line, and a dot on the first eval of each curve that reached it.

  Args:
    trial_dirs: `.../<workload>_<framework>/trial_<i>` folders.
    x: 'score' (seconds of timed training) or 'global_step'.
    rules: whose targets to draw ('v0.5' or 'v0.6'; held-out variants need 'v0.5').

  Returns:
    (the figure, or None when no trial could be read; one warning line per trial skipped).
  """
  by_workload: dict[str, list] = {}
  warnings = []
  for trial_dir in map(Path, trial_dirs):
    where = _trial_path(trial_dir)
    try:
      facts = workload_configs.facts(where.workload, rules)
    except KeyError:
      warnings.append(f'{trial_dir}: unknown workload {where.workload!r} under {rules}; '
                      'skipped')
      continue
    log, warning = logs_lib.read_trial(where, facts.metric)
    if warning:
      warnings.append(warning)
    if log is not None and len(log.time):
      by_workload.setdefault(where.workload, []).append((_label(trial_dir), log, facts))
  if not by_workload:
    return None, warnings
  with_averages = any(log.averages for rows in by_workload.values() for _, log, _ in rows)
  ncols = 2 if with_averages else 1
  fig = Figure(figsize=(6.0 * ncols + 2.5, 3.6 * len(by_workload)), layout='constrained')
  axes = fig.subplots(len(by_workload), ncols, squeeze=False, sharey='row')
  for row, (workload, trials) in enumerate(sorted(by_workload.items())):
    facts = trials[0][2]
    for col in range(ncols):
      ax = axes[row][col]
      for i, (label, log, _) in enumerate(trials):
        xs = log.time if x == 'score' else log.steps
        series = ([(label, log.metric, '-')] if col == 0 else
                  [(f'{label} [{name}]', values, _STYLES[j % len(_STYLES)])
                   for j, (name, values) in enumerate(sorted(log.averages.items()))])
        for name, values, style in series:
          ax.plot(xs, values, color=f'C{i % 10}', linestyle=style, label=name)
          hit = time_to_target.first_reached(values, facts.validation_target, facts.mode)
          if hit >= 0:  # the eval that reached the target
            ax.plot(xs[hit], values[hit], 'o', color=f'C{i % 10}', markersize=5)
      ax.axhline(facts.validation_target, color='black', linestyle='--', linewidth=1.0,
                 label=f'target {facts.validation_target:g}')
      ax.set_xlabel(X_LABELS.get(x, x))
      ax.set_ylabel(f'validation/{facts.metric}')
      kind = 'raw weights' if col == 0 else 'averaged weights'
      ax.set_title(f'{workload}: {kind}')
      ax.grid(True, alpha=0.3)
      ax.legend(fontsize='x-small', loc='best')
  return fig, warnings

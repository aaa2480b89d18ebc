"""Figures: performance profiles, and validation curves of chosen trials.

Both draw on a bare `matplotlib.figure.Figure` (no pyplot state, no display needed) and save
a PNG at 200 dpi with labelled axes and a legend.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from avgperf import trial_files
from configs import workloads as workload_configs
from scoring import curve_figures
from scoring import curves as curves_lib
from scoring import logs as logs_lib
from scoring import profiles
from scoring import studies
from scoring import styles

# `avgperf plot --x` -> what `curve_figures` calls it.
X_MEASURES = {'score': 'time', 'global_step': 'steps'}


def plot_profiles(leaderboard, out_path: str | os.PathLike, dpi: int = 200) -> Path:
  """Writes `profiles_figure(leaderboard)` as a PNG at `out_path`; returns the path."""
  profiles_figure(leaderboard).savefig(out_path, dpi=dpi)
  return Path(out_path)


def profiles_figure(leaderboard, entry_styles: dict | None = None) -> Figure:
  """rho(tau) of every entry on a log-scaled tau axis over [1, tau_max].

  Args:
    leaderboard: a `scoring.report.Leaderboard`.
    entry_styles: entry -> `styles.EntryStyle` (default: `styles.entry_styles` of the
      leaderboard's entries), so that other figures can share the colors.

  Returns:
    The figure: one step curve per entry in its `styles` style (averaged-weight entries
    dashed), labelled with its score, the legend best first.
  """
  ratios = leaderboard.ratios
  tau_max = float(leaderboard.profiles.columns.max())
  tau = np.geomspace(1.0, tau_max, 2000)
  rho = profiles.profile(ratios.to_numpy(), tau)
  entry_styles = entry_styles or styles.entry_styles(ratios.index)
  with matplotlib.rc_context(styles.FONTS):
    fig = Figure(figsize=(11.0, 5.5), layout='constrained')
    ax = fig.add_subplot()
    lines = {}
    for name in styles.drawing_order(ratios.index):
      style = entry_styles[name]
      score = leaderboard.scores.loc[name, 'score']
      [lines[name]] = ax.plot(
          tau, rho[list(ratios.index).index(name)], drawstyle='steps-post', color=style.color,
          linestyle=styles.AVERAGE_LINESTYLE if style.averaged else '-',
          linewidth=style.linewidth, alpha=styles.ALPHA, zorder=style.zorder,
          marker=style.marker, markersize=style.markersize * 0.6,
          markevery=styles.markevery(len(tau), style.order, markers=8),
          label=f'{name} ({score:.4f})')
    _profile_axes(ax, leaderboard, tau_max, len(ratios.columns))
    ax.legend(handles=[lines[n] for n in leaderboard.scores.index if n in lines],
              title='entry (score)', loc='center left', bbox_to_anchor=(1.01, 0.5),
              frameon=False)
  return fig


def _profile_axes(ax, leaderboard, tau_max: float, num_workloads: int) -> None:
  """The log tau axis with round ticks, the labels and the title."""
  ax.set_xscale('log')
  ticks = [t for t in (1, 1.25, 1.5, 2, 2.5, 3, 4, 6, 8) if t <= tau_max]
  ax.xaxis.set_major_locator(FixedLocator(ticks))
  ax.xaxis.set_major_formatter(lambda v, _: f'{v:g}')
  ax.xaxis.set_minor_locator(NullLocator())
  ax.xaxis.set_minor_formatter(NullFormatter())
  ax.set_xlim(1.0, tau_max)
  ax.set_ylim(-0.015, 1.02)
  what = 'steps' if leaderboard.time_col == 'global_step' else 'time'
  versus = leaderboard.reference or 'the fastest entry'
  ax.set_xlabel(f'τ: {what} to target relative to {versus} (log scale)')
  ax.set_ylabel(f'ρ(τ): fraction of the {num_workloads} workloads')
  ax.set_title(f'Performance profiles, AlgoPerf {leaderboard.rules} rules, '
               f'{leaderboard.ruleset} tuning')
  ax.grid(True, which='major', alpha=0.3)


def _trial_path(trial_dir: Path) -> logs_lib.TrialPath:
  """What the folders above `trial_dir` say: [<submission>/study_<k>/]<workload>_<fw>/."""
  workload, framework = logs_lib.split_workload_folder(trial_dir.parent.name)
  number = trial_dir.name.rpartition('_')[2]
  above = trial_dir.resolve().parent.parent
  study = above.name.rpartition('_')[2] if above.name.startswith('study_') else ''
  submission = above.parent.name if study.isdigit() else above.name
  return logs_lib.TrialPath(submission, int(study) if study.isdigit() else 0, workload,
                            framework, int(number) if number.isdigit() else 0,
                            trial_dir / trial_files.EVAL_MEASUREMENTS)


def _trial_curves(log: logs_lib.TrialLog) -> list[curves_lib.Curve]:
  """The raw curve of a trial and one per average it logged, all drawn as chosen."""
  w = log.where
  out = [curves_lib.Curve(w.submission, None, w.workload, w.study, w.trial, log.time,
                          log.steps, log.metric, chosen=True)]
  for average, values in sorted(log.averages.items()):
    out.append(curves_lib.Curve(studies.virtual_name(w.submission, average), average,
                                w.workload, w.study, w.trial, log.time, log.steps, values,
                                chosen=True))
  return out


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
  averaged-weight columns, the averages on the right (same y axis); drawn as
  `curve_figures.draw_panel` draws them (the target, the external-tuning budget, the axis
  from 0, a star where a curve first reached the target, a legend per row naming
  submission, study and trial under the workload's name).

  Args:
    trial_dirs: `.../[<submission>/study_<k>/]<workload>_<framework>/trial_<i>` folders.
    x: 'score' (seconds of timed training) or 'global_step'.
    rules: whose targets to draw ('v0.5' or 'v0.6'; held-out variants need 'v0.5').

  Returns:
    (the figure, or None when no trial could be read; one warning line per trial skipped).
  """
  by_workload: dict[str, list[curves_lib.Curve]] = {}
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
      by_workload.setdefault(where.workload, []).extend(_trial_curves(log))
  if not by_workload:
    return None, warnings
  return _curves_grid(by_workload, X_MEASURES[x], rules), warnings


def _curves_grid(by_workload: dict[str, list[curves_lib.Curve]], x: str, rules: str) -> Figure:
  """Rows: workloads; columns: raw weights, and averaged weights when any were logged."""
  with_averages = any(c.average for cs in by_workload.values() for c in cs)
  ncols = 2 if with_averages else 1
  entry_styles = styles.entry_styles(c.entry for cs in by_workload.values() for c in cs)
  with matplotlib.rc_context(styles.FONTS):
    fig = Figure(figsize=(8.0 * ncols + 4.5, 5.0 * len(by_workload)), layout='constrained')
    axes = fig.subplots(len(by_workload), ncols, squeeze=False, sharey='row')
    for row, (workload, curves) in enumerate(sorted(by_workload.items())):
      facts = workload_configs.facts(workload, rules)
      budget = facts.max_runtime_sec if x == 'time' else facts.step_hint
      for col, kind in enumerate(('raw weights', 'averaged weights')[:ncols]):
        ax = axes[row][col]
        shown = [c for c in curves if (c.average is None) == (col == 0)]
        ax.set_title(f'{workload}: {kind}')
        if shown:
          curve_figures.draw_panel(ax, shown, x, facts, budget, entry_styles)
          curve_figures.legend(ax, shown, entry_styles, workload)
  return fig

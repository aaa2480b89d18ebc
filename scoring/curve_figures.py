"""Validation curves as a paper would show them.

Each panel: the validation metric of some curves against time (seconds of timed training)
or optimizer steps, the x axis from 0 to past the budget (or the step budget), drawn as a
dotted vertical line; the target as a dashed horizontal line, a star where each drawn trial
first reached it. The y axis is zoomed on the target's neighbourhood (`y_limits`): what
decides time-to-target is where the curves cross it, and a full range from the untrained
model's value would squeeze every curve into a line at the top. The trial that stands for
its study is drawn in its entry's style (`styles`), with its line style for the study;
other trials of the study faintly, without a legend entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from configs import workloads as workload_configs
from scoring import styles as styles_lib
from scoring import time_to_target
from scoring.curves import Curve

AXIS_LABELS = {'time': 'time (s of timed training)', 'steps': 'optimizer steps'}
FAINT = {'linewidth': 0.8, 'alpha': 0.3, 'zorder': 1.0}
# More chosen curves than this in a legend: one line per entry, naming its trials by study,
# and a key of the studies' line styles.
MAX_LEGEND_LINES = 24


def _xs(curve: Curve, x: str) -> np.ndarray:
  return curve.time if x == 'time' else curve.steps


def _draw_curve(ax, curve: Curve, x: str, style: styles_lib.EntryStyle,
                facts: workload_configs.WorkloadFacts) -> None:
  xs = _xs(curve, x)
  if not curve.chosen:
    ax.plot(xs, curve.values, color=style.color, label='_faint', **FAINT)
    return
  linestyle = _study_linestyle(curve.study)
  ax.plot(xs, curve.values, color=style.color, linestyle=linestyle, marker=style.marker,
          markersize=style.markersize * 0.6, markevery=styles_lib.markevery(len(xs), style.order),
          linewidth=style.linewidth, alpha=styles_lib.ALPHA, zorder=style.zorder,
          label=curve.label)
  hit = time_to_target.first_reached(curve.values, facts.validation_target, facts.mode)
  if hit >= 0:
    ax.plot(xs[hit], curve.values[hit], marker='*', markersize=style.markersize + 4,
            color=style.color, markeredgecolor='black', markeredgewidth=0.8, linestyle='none',
            zorder=10 + style.zorder, label='_reached')


def y_limits(curves: Sequence[Curve], target: float, mode: str) -> tuple[float, float]:
  """The y range: from past the best value any chosen curve reached (with room for the stars
  that mark the target reached) to four times as far on the other side of the target, and at
  least down to (or up to, for 'min') the best value of a chosen curve that missed it, so
  that every study's best stays in view."""
  sign = 1.0 if mode == 'max' else -1.0
  beyond = []  # how far past the target each chosen curve got (negative: it missed)
  for curve in curves:
    finite = sign * (curve.values[np.isfinite(curve.values)] - target)
    if curve.chosen and len(finite):
      beyond.append(float(finite.max()))
  past = max(max(beyond, default=0.0), 0.0)
  span = max(past, 0.002 * abs(target), 1e-3)
  far_side = max(4 * span, -min(beyond, default=0.0) + 0.5 * span)
  margin = max(0.3 * span, 0.05 * (far_side + past))  # room for the stars at the top
  limits = (target - sign * far_side, target + sign * (past + margin))
  return min(limits), max(limits)


def draw_panel(ax, curves: Sequence[Curve], x: str, facts: workload_configs.WorkloadFacts,
               budget: float, styles: Mapping[str, styles_lib.EntryStyle]) -> None:
  """Draws `curves` against `x` ('time' or 'steps') on `ax`, with the target and `budget`.

  Args:
    ax: the axes.
    curves: the curves (one workload's).
    x: 'time' or 'steps'.
    facts: the workload's facts (metric, direction, target).
    budget: the runtime budget in seconds ('time') or the step budget ('steps').
    styles: entry -> its style (every entry of `curves`).
  """
  ordered = sorted(curves, key=lambda c: (c.chosen, styles[c.entry].order, c.study, c.trial))
  for curve in ordered:
    _draw_curve(ax, curve, x, styles[curve.entry], facts)
  ax.axhline(facts.validation_target, color='black', linestyle=(0, (5, 3)), linewidth=1.2,
             zorder=30, label=f'target {facts.validation_target:g}')
  budget_label = (f'budget {styles_lib.format_seconds(budget)} s' if x == 'time' else
                  f'step budget {styles_lib.format_steps(budget)}')
  ax.axvline(budget, color='0.3', linestyle=':', linewidth=1.8, zorder=30, label='_budget')
  ax.annotate(budget_label, xy=(budget, 0.0), xycoords=('data', 'axes fraction'),
              xytext=(4, 6), textcoords='offset points', rotation=90, ha='left',
              va='bottom', color='0.3')
  last = max((float(np.nanmax(_xs(c, x))) for c in curves if len(_xs(c, x))), default=0.0)
  ax.set_xlim(0.0, 1.06 * max(budget, last))
  ax.set_ylim(*y_limits(curves, facts.validation_target, facts.mode))
  ax.set_xlabel(AXIS_LABELS[x])
  ax.set_ylabel(f'validation {facts.metric}')
  ax.grid(True, alpha=0.3)


def _study_linestyle(study: int):
  return styles_lib.STUDY_LINESTYLES[study % len(styles_lib.STUDY_LINESTYLES)]


def legend(ax, curves: Sequence[Curve], styles: Mapping[str, styles_lib.EntryStyle],
           title: str) -> None:
  """The legend of `curves` (drawn on `ax`) beside `ax`: each chosen curve by entry, study and
  trial; past `MAX_LEGEND_LINES` of them, one line per entry naming its trials by study and
  a key of the studies' line styles. The target last."""
  chosen = sorted((c for c in curves if c.chosen),
                  key=lambda c: (styles[c.entry].order, c.study, c.trial))
  handles, labels = ax.get_legend_handles_labels()
  target = [(h, l) for h, l in zip(handles, labels) if l.startswith('target')]
  if len(chosen) <= MAX_LEGEND_LINES:
    drawn = dict(zip(labels, handles))
    items = [(drawn[c.label], c.label) for c in chosen if c.label in drawn]
  else:
    items = []
    for entry in dict.fromkeys(c.entry for c in chosen):
      style = styles[entry]
      trials = ', '.join(str(c.trial) for c in chosen if c.entry == entry)
      studies = sorted({c.study for c in chosen if c.entry == entry})
      items.append((Line2D([], [], color=style.color, marker=style.marker,
                           linewidth=style.linewidth),
                    f'{entry} · trials {trials} (studies {studies[0]}–{studies[-1]})'))
    items += [(Line2D([], [], color='0.45', linestyle=_study_linestyle(k)), f'study {k}')
              for k in sorted({c.study for c in chosen})[:len(styles_lib.STUDY_LINESTYLES)]]
  items += target
  ax.legend([h for h, _ in items], [l for _, l in items], title=title, loc='upper left',
            bbox_to_anchor=(1.02, 1.0), frameon=False)


def workload_figure(workload: str, curves: Sequence[Curve],
                    facts: workload_configs.WorkloadFacts, budget: float, step_budget: float,
                    styles: Mapping[str, styles_lib.EntryStyle]) -> Figure:
  """One workload's curves: raw weights on the first row, averaged weights (when any) on
  the second; against time on the left, steps on the right; one legend per row.

  Args:
    workload: its name (titles and legends).
    curves: its curves.
    facts: its facts.
    budget: the runtime budget in seconds.
    step_budget: the step budget (the step hint, scaled as the ruleset scales it).
    styles: entry -> its style.

  Returns:
    The figure.
  """
  rows = [(kind, chosen) for kind, chosen in (
      ('raw weights', [c for c in curves if c.average is None]),
      ('averaged weights', [c for c in curves if c.average is not None])) if chosen]
  with matplotlib.rc_context(styles_lib.FONTS):
    fig = Figure(figsize=(15.0, 5.0 * len(rows)), layout='constrained')
    axes = fig.subplots(len(rows), 2, squeeze=False, sharey=True)
    for row, (kind, row_curves) in enumerate(rows):
      for col, (x, limit) in enumerate((('time', budget), ('steps', step_budget))):
        ax = axes[row][col]
        draw_panel(ax, row_curves, x, facts, limit, styles)
        ax.set_title(f'{workload}, {kind}: against {"time" if x == "time" else "steps"}')
      legend(axes[row][1], row_curves, styles, f'{workload}, {kind}')
  return fig

"""The report of a scored folder as one self-contained HTML file: the leaderboard with its
intervals, the performance profiles, per workload the times and steps to target with the
speedups over the reference, and the validation curves. Figures are inlined as PNG data; the
page has no scripts and loads nothing (it opens from disk, offline).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import os
from pathlib import Path

from scoring import curve_figures
from scoring import curves as curves_lib
from scoring import html_tables
from scoring import plots
from scoring import rules as rules_lib
from scoring import styles as styles_lib
from scoring.report import TIME_COLUMNS
from scoring.report import Leaderboard

FIGURE_DPI = 100
CSS = """
body{font-family:system-ui,'Segoe UI',Roboto,'DejaVu Sans',Helvetica,Arial,sans-serif;
  margin:2em auto;max-width:1280px;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{margin-top:1.8em;border-bottom:1px solid #ddd}
p.note,figcaption,.note{color:#555;font-size:.92em}
table{border-collapse:collapse;margin:.6em 0;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;text-align:right;border-bottom:1px solid #eee}
th[scope=row],td.weights,thead th:nth-child(-n+3){text-align:left}
thead th{border-bottom:2px solid #999;vertical-align:bottom}
tr.averaged{font-style:italic;background:#f5f6fb} td.interval{color:#555}
td,th[scope=row]{white-space:nowrap}
img{max-width:100%;height:auto} figure{margin:1em 0}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:0 1em} dt{font-weight:600}
"""


def _png(fig, alt: str) -> str:
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png', dpi=FIGURE_DPI)
  data = base64.b64encode(buffer.getvalue()).decode('ascii')
  return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _figure(fig, alt: str, caption: str) -> str:
  return f'<figure>{_png(fig, alt)}<figcaption>{caption}</figcaption></figure>'


def _preset(board: Leaderboard) -> rules_lib.Rules:
  """The rules `board` was scored with."""
  preset = rules_lib.preset(board.rules, tuple(board.ratios.columns))
  return dataclasses.replace(preset, num_studies=board.num_studies,
                             budget_factor=board.budget_factor)


def _header(logs_dir, board: Leaderboard) -> str:
  facts = {
      'logs': str(Path(logs_dir)),
      'rules': f'AlgoPerf {board.rules}, {board.ruleset} tuning',
      'measured by': ('steps to target' if board.time_col == 'global_step'
                      else 'time to target (seconds of timed training)'),
      'studies': f'{board.num_studies} per submission and workload (the median is scored)',
      'intervals': (f'95 %, bootstrap over studies ({board.bootstrap} replicates)'
                    if board.bootstrap else 'none (scored without a bootstrap)'),
      'reference': board.reference or 'none (ratios to the fastest entry)',
      'scored workloads': ', '.join(board.ratios.columns),
  }
  if board.budget_factor != 1.0:
    facts['budgets'] = f'{board.budget_factor:g}x the workloads\' time budgets (--budget_factor)'
  rows = ''.join(f'<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>' for k, v in facts.items())
  out = f'<h1>avgperf report</h1><dl class="facts">{rows}</dl>'
  if board.warnings:
    items = ''.join(f'<li>{html.escape(w)}</li>' for w in board.warnings)
    out += (f'<details><summary>{len(board.warnings)} warnings from scoring</summary>'
            f'<ul>{items}</ul></details>')
  return out


LEADERBOARD_NOTE = (
    'The score is the area under the entry\'s performance profile over τ in [1, 4], divided '
    'by 3 (1: fastest on every workload). The speedup is the geometric mean over the scored '
    'workloads of the reference\'s median time over the entry\'s, a miss counting as the '
    'budget + 1 (AlgoPerf\'s rule). Rows in italics are averaged-weight entries, '
    '<code>submission[average]</code>: an average that a submission logged beside its '
    'evaluated weights, scored on the same trials as if it were a submission of its own; '
    'they appear in every table and figure, dashed in the profiles and on the second row of '
    'the curves.')


def _leaderboard_sections(board: Leaderboard, entry_styles) -> list[str]:
  profiles = plots.profiles_figure(board, entry_styles)
  return [
      '<h2 id="leaderboard-section">Leaderboard</h2>', html_tables.leaderboard_table(board),
      f'<p class="note">{LEADERBOARD_NOTE}</p>',
      '<h2>Performance profiles</h2>',
      _figure(profiles, 'performance profiles',
              'ρ(τ): the fraction of the scored workloads on which an entry reached the target '
              'within τ times the time of ' + html.escape(board.reference or 'the fastest')
              + ' (after the held-out gates and the 4x rule).')]


def _workload_sections(board: Leaderboard, preset: rules_lib.Rules) -> list[str]:
  out = ['<h2>Per workload: time and steps to target</h2>',
         '<p class="note">Medians over studies of each study\'s scored trial; '
         '"missed": the median study missed the target (or reached it over the budget); '
         '"–": no logs. A speedup is the reference\'s median over the entry\'s, a miss '
         'counting as the budget + 1, so a speedup beside a miss is a bound.</p>']
  for workload in html_tables.reported_workloads(board):
    facts = preset.workloads[workload]
    out.append(f'<h3>{html.escape(workload)}</h3><p class="note">target: validation '
               f'{html.escape(facts.metric)} {"≥" if facts.mode == "max" else "≤"} '
               f'{facts.validation_target:g}; budget '
               f'{styles_lib.format_seconds(preset.budget(workload, board.ruleset))} s, step '
               f'budget {styles_lib.format_steps(preset.step_budget(workload, board.ruleset))}'
               '</p>')
    out.append(html_tables.workload_table(board, workload))
  return out


CURVES_NOTE = (
    'Each study is drawn as the trial that scoring takes for it (the one that reached the '
    'target in the fewest evals; under self-tuning its one trial), or, when none reached '
    'it, as the trial that came closest; these are in the legend, named by entry, study and '
    'trial, each study in its own line style. The study\'s other trials are the faint lines. '
    'A star marks where a trial first reached the target. With more than '
    f'{curve_figures.MAX_LEGEND_LINES} such trials in a row, the legend names each entry\'s '
    'trials study by study and keys the studies\' line styles. Averaged weights are on the '
    'second row: an average may have its own best trial.')


def _curve_sections(logs_dir, board: Leaderboard, preset: rules_lib.Rules,
                    by_workload, entry_styles) -> list[str]:
  out = ['<h2>Validation curves</h2>', f'<p class="note">{CURVES_NOTE}</p>']
  for workload, curves in sorted(by_workload.items()):
    fig = curve_figures.workload_figure(
        workload, curves, preset.workloads[workload], preset.budget(workload, board.ruleset),
        preset.step_budget(workload, board.ruleset), entry_styles)
    out.append(_figure(fig, f'{workload} validation curves',
                       f'{html.escape(workload)}: validation '
                       f'{html.escape(preset.workloads[workload].metric)} against time and '
                       'steps; dashed: the target, dotted: the budget; the y axis zoomed on the '
                       'target (curves enter from outside it).'))
  if not by_workload:
    out.append(f'<p>No curves could be read under {html.escape(str(logs_dir))}.</p>')
  return out


def write_report(logs_dir: str | os.PathLike, board: Leaderboard,
                 out_path: str | os.PathLike) -> Path:
  """Writes the report of `board` (scored from `logs_dir`) at `out_path`; returns the path."""
  preset = _preset(board)
  by_workload = curves_lib.select_curves(logs_dir, preset, board.ruleset,
                                         TIME_COLUMNS[board.time_col])
  entries = set(board.scores.index) | {c.entry for cs in by_workload.values() for c in cs}
  entry_styles = styles_lib.entry_styles(entries)
  sections = [_header(logs_dir, board), *_leaderboard_sections(board, entry_styles),
              *_workload_sections(board, preset),
              *_curve_sections(logs_dir, board, preset, by_workload, entry_styles)]
  page = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
          '<meta name="viewport" content="width=device-width, initial-scale=1">'
          f'<title>avgperf report</title><style>{CSS}</style></head><body>'
          + '\n'.join(sections) + '</body></html>\n')
  Path(out_path).write_text(page, encoding='utf-8')
  return Path(out_path)

"""The report of a scored folder as one self-contained HTML file (figures inlined as PNG data,
no scripts, no network): the leaderboard, the performance profiles, per-workload times and
steps to target, and the validation curves.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

from scoring import logs as logs_lib
from scoring import plots
from scoring.report import Leaderboard


def _png(fig) -> str:
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png', dpi=110)
  data = base64.b64encode(buffer.getvalue()).decode('ascii')
  return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _table(frame, digits: int = 4) -> str:
  return frame.to_html(float_format=lambda v: f'{v:.{digits}g}', na_rep='–', border=0)


def write_report(logs_dir: str | os.PathLike, board: Leaderboard,
                 out_path: str | os.PathLike) -> Path:
  """Writes the report of `board` (scored from `logs_dir`) at `out_path`; returns the path."""
  sections = [f'<h1>avgperf report</h1><p>{html.escape(str(Path(logs_dir).resolve()))}: '
              f'{board.rules} rules, {board.ruleset} tuning, by {board.time_col}'
              + (f', relative to {html.escape(board.reference)}' if board.reference else '')
              + '</p>', '<h2>Leaderboard</h2>', _table(board.scores),
              '<h2>Performance profiles</h2>', _png(plots.profiles_figure(board)),
              '<h2>Time to target (s)</h2>', _table(board.time_to_target),
              '<h2>Steps to target</h2>', _table(board.steps_to_target)]
  trials = logs_lib.find_trials(logs_dir)
  for workload in sorted({t.workload for t in trials}):
    dirs = [t.path.parent for t in trials if t.workload == workload]
    for x in ('score', 'global_step'):
      fig, _ = plots.curves_figure(dirs, x=x, rules=board.rules)
      if fig is not None:
        sections += [f'<h2>{html.escape(workload)}: validation curves against '
                     f'{plots.X_LABELS[x]}</h2>', _png(fig)]
  page = ('<!doctype html><html><head><meta charset="utf-8"><title>avgperf report</title>'
          '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}'
          'td,th{padding:2px 8px;text-align:right}img{max-width:100%}</style></head><body>'
          + '\n'.join(sections) + '</body></html>\n')
  Path(out_path).write_text(page, encoding='utf-8')
  return Path(out_path)

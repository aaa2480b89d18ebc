"""The report's tables, as HTML: the leaderboard, and per workload the times and steps to
target with each entry's speedup over the reference.

Every number is a cell that carries the leaderboard's value at full precision
(`data-field`, `data-value`) beside the text shown, so that a reader's tools (and the
tests) can check the table against the leaderboard.
"""

from __future__ import annotations

import html
import math

from scoring import studies as studies_lib
from scoring.report import Leaderboard
from scoring.styles import format_score, format_seconds, format_speedup, format_steps

MISSED, NO_LOGS = 'missed', '–'


def _text(value: float, formatter) -> str:
  if math.isnan(value):
    return NO_LOGS
  if math.isinf(value):
    return MISSED
  return formatter(value)


def _cell(field: str, value: float, formatter) -> str:
  return (f'<td data-field="{field}" data-value="{float(value)!r}">'
          f'{html.escape(_text(value, formatter))}</td>')


def _interval_cell(field: str, low: float, high: float, formatter) -> str:
  if math.isnan(low) or math.isnan(high):
    return '<td class="interval"></td>'
  return (f'<td class="interval" data-field="{field}" data-low="{float(low)!r}" '
          f'data-high="{float(high)!r}">[{html.escape(formatter(low))}, '
          f'{html.escape(formatter(high))}]</td>')


def _entry_cells(name: str, reference: str | None) -> str:
  submission, average = studies_lib.split_virtual_name(name)
  weights = 'as evaluated' if average is None else f'average {average}'
  note = ' <span class="note">(reference)</span>' if name == reference else ''
  return (f'<th scope="row" data-entry="{html.escape(name)}">{html.escape(name)}{note}</th>'
          f'<td class="weights">{html.escape(weights)}</td>')


def _row_class(name: str) -> str:
  return ' class="averaged"' if studies_lib.split_virtual_name(name)[1] else ''


def leaderboard_table(board: Leaderboard) -> str:
  """Rank, entry, score (and interval), speedup (and interval), workloads reached."""
  s = board.scores
  has_ci, has_speedup = 'score_low' in s, 'speedup' in s
  head = ['rank', 'entry', 'weights', 'score'] + (['95 % interval'] if has_ci else [])
  if has_speedup:
    head += [f'speedup over {board.reference}'] + (['95 % interval'] if has_ci else [])
  head.append('workloads reached')
  rows = []
  for rank, (name, row) in enumerate(s.iterrows(), start=1):
    cells = [f'<td>{rank}</td>', _entry_cells(name, board.reference),
             _cell('score', row['score'], format_score)]
    if has_ci:
      cells.append(_interval_cell('score', row['score_low'], row['score_high'], format_score))
    if has_speedup:
      cells.append(_cell('speedup', row['speedup'], format_speedup))
      if has_ci:
        cells.append(_interval_cell('speedup', row['speedup_low'], row['speedup_high'],
                                    format_speedup))
    cells.append(f'<td data-field="reached" data-value="{int(row["reached"])}">'
                 f'{int(row["reached"])} / {len(board.ratios.columns)}</td>')
    rows.append(f'<tr{_row_class(name)}>{"".join(cells)}</tr>')
  return _table('leaderboard', head, rows)


def _table(table_id: str, head: list[str], rows: list[str]) -> str:
  header = ''.join(f'<th scope="col">{html.escape(h)}</th>' for h in head)
  return (f'<table id="{html.escape(table_id)}"><thead><tr>{header}</tr></thead><tbody>'
          + '\n'.join(rows) + '</tbody></table>')


def reported_workloads(board: Leaderboard) -> list[str]:
  """The workloads with logs of some entry, scored ones first (the leaderboard's columns)."""
  t = board.time_to_target
  return [w for w in t.columns if not t[w].isna().all()]


def workload_table(board: Leaderboard, workload: str) -> str:
  """Per entry: time to target, its speedup over the reference (and interval), the same in
  steps. Without a reference, the times and steps alone."""
  head = ['entry', 'weights']
  measures = (('time', 'time to target (s)', board.time_to_target, format_seconds),
              ('steps', 'steps to target', board.steps_to_target, format_steps))
  for which, title, _, _ in measures:
    head.append(title)
    found = board.workload_speedups.get(which)
    if found is not None:
      head += ['speedup'] + (['95 % interval'] if found.low is not None else [])
  rows = []
  for name in board.scores.index:
    cells = [_entry_cells(name, board.reference)]
    for which, _, frame, formatter in measures:
      cells.append(_cell(f'{which}_to_target', frame.loc[name, workload], formatter))
      found = board.workload_speedups.get(which)
      if found is not None:
        cells.append(_cell(f'{which}_speedup', found.speedup.loc[name, workload],
                           format_speedup))
        if found.low is not None:
          cells.append(_interval_cell(f'{which}_speedup', found.low.loc[name, workload],
                                      found.high.loc[name, workload], format_speedup))
    rows.append(f'<tr{_row_class(name)}>{"".join(cells)}</tr>')
  return _table(f'workload-{workload}', head, rows)

"""The report's content: its tables hold the leaderboard's numbers, its curves the trials
that scoring takes for each study, drawn as the figures promise."""

import dataclasses
import html.parser
import math

import numpy as np
import pytest

from configs import workloads as workload_configs
from scoring import curve_figures
from scoring import curves as curves_lib
from scoring import rules as rules_lib
from scoring import score_logs
from scoring import styles
from scoring import write_report
from tests.scoring import helpers
from tests.scoring import report_fixture


class _Tables(html.parser.HTMLParser):
  """table id -> rows -> cells (tag, attributes, text) of an HTML page."""

  def __init__(self):
    super().__init__()
    self.tables, self._table, self._cell = {}, None, None

  def handle_starttag(self, tag, attrs):
    if tag == 'table':
      self._table = self.tables.setdefault(dict(attrs)['id'], [])
    elif tag == 'tr' and self._table is not None:
      self._table.append([])
    elif tag in ('td', 'th') and self._table is not None:
      self._cell = [tag, dict(attrs), '']
      self._table[-1].append(self._cell)

  def handle_endtag(self, tag):
    if tag == 'table':
      self._table = None
    elif tag in ('td', 'th'):
      self._cell = None

  def handle_data(self, data):
    if self._cell is not None:
      self._cell[2] += data


@pytest.fixture(scope='module')
def report(tmp_path_factory):
  root = report_fixture.write_logs(tmp_path_factory.mktemp('logs'))
  board = report_fixture.leaderboard(root)
  page = write_report(root, board, root / 'report.html').read_text(encoding='utf-8')
  parser = _Tables()
  parser.feed(page)
  return board, page, parser.tables


def _rows(table):
  """entry -> {field: [cells]} of a parsed table's body rows."""
  out = {}
  for row in table[1:]:
    entry = next(a['data-entry'] for tag, a, _ in row if 'data-entry' in a)
    fields = {}
    for _, attrs, text in row:
      if 'data-field' in attrs:
        fields.setdefault(attrs['data-field'], []).append((attrs, text))
    out[entry] = fields
  return out


def _shown(text):
  """The number a cell shows ('1,234', '0.600×', 'missed' -> inf, '–' -> nan)."""
  text = text.strip().rstrip('×').replace(',', '')
  return {'missed': math.inf, '–': math.nan}.get(text, None) or float(text)


def _check(attrs_text, value, digits):
  """The cell's full-precision value is `value`, and it shows `value` to `digits` places."""
  attrs, text = attrs_text
  assert float(attrs['data-value']) == value or (math.isnan(value) and
                                                  math.isnan(float(attrs['data-value'])))
  shown = _shown(text)
  if math.isfinite(value):
    assert shown == pytest.approx(value, abs=0.5 * 10 ** -digits, rel=5e-4)
  else:
    assert shown == value or (math.isnan(value) and math.isnan(shown))


def _check_interval(attrs_text, low, high):
  attrs, text = attrs_text
  assert (float(attrs['data-low']), float(attrs['data-high'])) == (low, high)
  shown = [float(v.strip().rstrip('×')) for v in text.strip('[]').split(',')]
  assert shown == pytest.approx([low, high], abs=5e-4)


def test_leaderboard_table_is_the_leaderboard(report):
  board, _, tables = report
  rows = _rows(tables['leaderboard'])
  assert list(rows) == list(board.scores.index)  # best first, averaged entries included
  assert 'avg[ema]' in rows
  for entry, fields in rows.items():
    s = board.scores.loc[entry]
    _check(fields['score'][0], s['score'], 4)
    _check_interval(fields['score'][1], s['score_low'], s['score_high'])
    _check(fields['speedup'][0], s['speedup'], 3)
    _check_interval(fields['speedup'][1], s['speedup_low'], s['speedup_high'])
    assert int(fields['reached'][0][0]['data-value']) == s['reached']


@pytest.mark.parametrize('workload', report_fixture.WORKLOADS)
def test_workload_tables_are_the_leaderboards_medians_and_speedups(report, workload):
  board, _, tables = report
  rows = _rows(tables[f'workload-{workload}'])
  assert list(rows) == list(board.scores.index)
  for entry, fields in rows.items():
    for which, frame, digits in (('time', board.time_to_target, 2),
                                 ('steps', board.steps_to_target, 0)):
      _check(fields[f'{which}_to_target'][0], frame.loc[entry, workload], digits)
      found = board.workload_speedups[which]
      speedup = found.speedup.loc[entry, workload]
      _check(fields[f'{which}_speedup'][0], speedup, 3)
      if not math.isnan(speedup):
        _check_interval(fields[f'{which}_speedup'][1], found.low.loc[entry, workload],
                        found.high.loc[entry, workload])


def test_the_page_names_what_it_shows(report):
  board, page, tables = report
  # The fixture's facts, shown as such: a median miss, no logs, the reference marked.
  rows = {r[0][1]['data-entry']: r for r in tables['workload-ogbg'][1:]}
  assert 'missed' in [text for _, _, text in rows['slow']]
  assert _rows(tables['workload-wmt'])['slow']['time_to_target'][0][1] == '–'
  assert '(reference)' in ''.join(text for _, _, text in rows['base'])
  for needed in ('95 %, bootstrap over studies (200 replicates)', 'faint lines',
                 'averaged-weight entries', 'the trial that came closest'):
    assert needed in page
  assert page.count('<img ') == 1 + len(report_fixture.WORKLOADS)  # profiles + curves
  assert 'http' not in page.replace('http-equiv', '')  # nothing to fetch
  assert len(board.warnings) and 'slow: no logs of wmt; counted as misses' in page


def _by_key(curves):
  return {(c.entry, c.study, c.trial): c for c in curves}


def test_curves_are_each_studys_scored_trial_and_the_closest_when_missed(tmp_path):
  root = report_fixture.write_logs(tmp_path)
  rules = rules_lib.preset('v0.6', report_fixture.WORKLOADS)
  curves = curves_lib.select_curves(root, rules, 'external', 'time')
  ogbg, wmt = _by_key(curves['ogbg']), _by_key(curves['wmt'])
  chosen = sorted(k for k, c in ogbg.items() if c.chosen)
  assert chosen == [('avg', 0, 2), ('avg', 1, 2), ('avg', 2, 2),
                    ('avg[ema]', 0, 1), ('avg[ema]', 1, 1), ('avg[ema]', 2, 1),
                    ('base', 0, 2), ('base', 1, 1), ('base', 2, 1),
                    ('slow', 0, 1), ('slow', 1, 1), ('slow', 2, 1)]
  assert len(ogbg) == 4 * 3 * 2  # every trial kept, unchosen ones to be drawn faintly
  # wmt study 2 of avg: missed by both trials; trial 1 came closer.
  assert wmt[('avg', 2, 1)].chosen and not wmt[('avg', 2, 2)].chosen
  ema = ogbg[('avg[ema]', 1, 1)]
  assert ema.average == 'ema' and ema.label == 'avg[ema] · study 1 · trial 1'
  np.testing.assert_array_equal(ema.time, report_fixture.TIMES)
  # Self-tuning: a study's trial is its first; fewer studies scored, fewer drawn.
  self_tuning = curves_lib.select_curves(root, rules, 'self', 'time')
  assert all(c.chosen == (c.trial == 1) for c in self_tuning['ogbg'])
  two = curves_lib.select_curves(root, dataclasses.replace(rules, num_studies=2), 'external',
                                'time')
  assert {c.study for c in two['ogbg']} == {0, 1}


def test_closest_trial_by_direction():
  def curve(values):
    return curves_lib.Curve('s', None, 'w', 0, 1, np.zeros(3), np.zeros(3),
                            np.array(values), False)

  trials = [curve([0.1, 0.5, np.nan]), curve([0.2, 0.4, 0.3]), curve([np.nan] * 3)]
  assert curves_lib.closest_trial(trials, 'max') == 0
  assert curves_lib.closest_trial(trials, 'min') == 0  # 0.1 is the lowest value
  assert curves_lib.closest_trial([trials[2], trials[1]], 'max') == 1


def test_workload_figure_draws_what_a_paper_needs(tmp_path):
  root = report_fixture.write_logs(tmp_path)
  rules = rules_lib.preset('v0.6', report_fixture.WORKLOADS)
  curves = curves_lib.select_curves(root, rules, 'external', 'time')['ogbg']
  facts = workload_configs.facts('ogbg', 'v0.6')
  entry_styles = styles.entry_styles(c.entry for c in curves)
  fig = curve_figures.workload_figure('ogbg', curves, facts, 12_011, 52_000, entry_styles)
  (raw_time, raw_steps), (avg_time, avg_steps) = np.reshape(fig.axes, (2, 2))
  assert raw_time.get_xlabel() == 'time (s of timed training)'
  assert raw_steps.get_xlabel() == 'optimizer steps'
  for ax, budget in ((raw_time, 12_011), (raw_steps, 52_000), (avg_time, 12_011)):
    assert ax.get_xlim()[0] == 0.0 and ax.get_xlim()[1] > budget
    assert [line.get_xdata()[0] for line in ax.get_lines()
            if line.get_label() == '_budget'] == [budget]
    low, high = ax.get_ylim()
    assert low < facts.validation_target < high
  legend = [t.get_text() for t in raw_steps.get_legend().get_texts()]
  assert raw_steps.get_legend().get_title().get_text() == 'ogbg, raw weights'
  assert 'base · study 0 · trial 2' in legend and 'base · study 0 · trial 1' not in legend
  assert 'target 0.28098' in legend
  assert [t.get_text() for t in avg_steps.get_legend().get_texts()][:1] == [
      'avg[ema] · study 0 · trial 1']
  faint = [line for line in raw_time.get_lines() if line.get_label() == '_faint']
  chosen = [line for line in raw_time.get_lines() if '· trial' in line.get_label()]
  assert len(faint) == 3 * 3 * 2 - 9 and len(chosen) == 9
  assert all(line.get_alpha() < 0.5 and line.get_zorder() < chosen[0].get_zorder()
             for line in faint)
  # Lines that coincide stay visible: each entry its own color and marker, the earlier
  # drawn wider and underneath; each study its own line style.
  by_entry = {line.get_label().split(' ·')[0]: line for line in chosen}
  assert len({(l.get_color(), l.get_marker()) for l in by_entry.values()}) == 3
  widths = [by_entry[e].get_linewidth() for e in ('avg', 'base', 'slow')]
  assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
  assert {line.get_linestyle() for line in chosen} == {'-', '--', ':'}


def test_y_limits_keep_every_studys_best_in_view():
  def curve(values, chosen=True):
    return curves_lib.Curve('s', None, 'w', 0, 1, np.arange(3.0), np.arange(3.0),
                            np.array(values), chosen)

  low, high = curve_figures.y_limits([curve([0.1, 0.5, 0.9]), curve([0.1, 0.2, 0.3])],
                                     0.8, 'max')
  assert 0.9 < high < 1.0 and low < 0.3  # the best (0.9) and the missed curve's best (0.3)
  low, high = curve_figures.y_limits([curve([5.0, 2.0, 1.5]), curve([9.0, 0.1, 0.2], False)],
                                     2.0, 'min')  # an unchosen curve does not widen the range
  assert low < 1.5 and high > 2.0 and low > 0.1


def test_report_without_reference_or_bootstrap(tmp_path):
  for study in range(3):
    helpers.write_reaching(tmp_path, 'a', 'ogbg', 30, study=study, rules='v0.6')
  board = score_logs(tmp_path, rules='v0.6', workloads=('ogbg',))
  page = write_report(tmp_path, board, tmp_path / 'r.html').read_text(encoding='utf-8')
  parser = _Tables()
  parser.feed(page)
  assert [h for _, _, h in parser.tables['leaderboard'][0]] == [
      'rank', 'entry', 'weights', 'score', 'workloads reached']
  assert 'none (scored without a bootstrap)' in page and page.count('<img ') == 2


def test_many_trials_make_a_legend_line_per_entry_and_a_key_of_studies():
  facts = workload_configs.facts('ogbg', 'v0.6')
  values = np.array(helpers.values_reaching('ogbg', 2, 4, 'v0.6'))
  curves = [curves_lib.Curve(entry, None, 'ogbg', study, trial, np.arange(4.0), np.arange(4.0),
                             values, chosen=trial == study + 1)
            for entry in ('a', 'b', 'c', 'd', 'e', 'f') for study in range(5)
            for trial in range(1, 6)]  # 30 chosen curves: more than a legend should list
  entry_styles = styles.entry_styles('abcdef')
  fig = curve_figures.workload_figure('ogbg', curves, facts, 100, 1000, entry_styles)
  legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
  assert legend[0] == 'a · trials 1, 2, 3, 4, 5 (studies 0–4)' and len(legend) == 6 + 5 + 1
  assert legend[6:] == ['study 0', 'study 1', 'study 2', 'study 3', 'study 4',
                        'target 0.28098']
  # Each of v0.5's five studies has its own line style.
  assert len(set(map(str, styles.STUDY_LINESTYLES))) >= 5

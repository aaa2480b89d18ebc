"""How the figures tell leaderboard entries apart, their fonts, and how numbers read.

Every entry keeps one color and one marker in every figure of a report. Lines that coincide
(an average that equals its submission, two submissions that reach a target at the same
time) stay visible: entries are drawn in a fixed order, each thinner than the one before and
above it, with markers at staggered positions, slightly transparent; averaged-weight entries
are dashed in the profiles, and studies differ by line style in the curves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from scoring import studies as studies_lib

# matplotlib's tab10, then Dark2: 18 colors told apart in print and by most color-blind readers.
PALETTE = ('#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
           '#7f7f7f', '#bcbd22', '#17becf', '#1b9e77', '#d95f02', '#7570b3', '#e7298a',
           '#66a61e', '#e6ab02', '#a6761d', '#666666')
MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X', '<', '>', 'h')
STUDY_LINESTYLES = ('-', '--', ':', '-.', (0, (5, 1.5, 1, 1.5, 1, 1.5)))  # v0.5: 5 studies
AVERAGE_LINESTYLE = (0, (6, 2))
# Sizes in points for figures shown at about 75 % of their saved size.
FONTS = {'font.size': 13, 'axes.titlesize': 14, 'axes.labelsize': 13, 'xtick.labelsize': 12,
         'ytick.labelsize': 12, 'legend.fontsize': 11, 'legend.title_fontsize': 12}
ALPHA = 0.85
WIDEST, THINNEST = 3.4, 1.2


@dataclasses.dataclass(frozen=True)
class EntryStyle:
  """How one entry is drawn.

  Attributes:
    color, marker: its own.
    linewidth: wider for entries drawn earlier (underneath).
    zorder: the drawing order (later: on top).
    order: its place among the entries (staggers the markers).
    averaged: whether it is an averaged-weight entry `<submission>[<average>]`.
  """

  color: str
  marker: str
  linewidth: float
  zorder: float
  order: int
  averaged: bool

  @property
  def markersize(self) -> float:
    """Larger underneath, so that coinciding markers nest."""
    return 2.0 + 2.5 * self.linewidth


def drawing_order(entries: Iterable[str]) -> list[str]:
  """Submissions by name, each followed by its averaged-weight entries by name."""
  def key(name: str) -> tuple[str, str]:
    submission, average = studies_lib.split_virtual_name(name)
    return submission, average or ''
  return sorted(set(entries), key=key)


def entry_styles(entries: Iterable[str]) -> dict[str, EntryStyle]:
  """The style of every entry (see the module's docstring)."""
  ordered = drawing_order(entries)
  step = (WIDEST - THINNEST) / max(len(ordered) - 1, 1)
  return {name: EntryStyle(PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)],
                           WIDEST - i * step, 2.0 + i / 100, i,
                           studies_lib.split_virtual_name(name)[1] is not None)
          for i, name in enumerate(ordered)}


def markevery(num_points: int, order: int, markers: int = 12) -> int | tuple[int, int]:
  """Every how many points a line shows its marker: at most about `markers` of them, at an
  offset that differs between entries so that coinciding lines show each their own."""
  if num_points <= markers:
    return 1
  every = num_points // markers
  return (order * max(every // 5, 1) % every, every)


def format_seconds(value: float) -> str:
  """'0.2036', '85.21', '12,011' (four significant digits, thousands separated)."""
  return f'{value:,.0f}' if abs(value) >= 1000 else f'{value:.4g}'


def format_steps(value: float) -> str:
  return f'{value:,.0f}'


def format_score(value: float) -> str:
  return f'{value:.4f}'


def format_speedup(value: float) -> str:
  return f'{value:.3f}×'

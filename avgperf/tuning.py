"""Tuning rulesets: search spaces in AlgoPerf's format, quasi-random draws, seeds per trial.

A search space is either a list of fixed points (trial k takes point k) or a dict of
hyperparameters, each `{"min", "max", "scaling": "linear"|"log"}` or `{"feasible_points"}`,
drawn with a scrambled Halton sequence whose scrambling is seeded by the study.
"""

from __future__ import annotations

import collections
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from avgperf.errors import UsageError

_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79,
           83, 89, 97, 101, 103, 107, 109, 113)

SearchSpace = list[dict[str, Any]] | dict[str, dict[str, Any]]


def load_search_space(path: str | Path) -> SearchSpace:
  """Reads and validates a search space; UsageError names what is wrong."""
  try:
    space = json.loads(Path(path).read_text())
  except OSError as e:
    raise UsageError(f'cannot read search space {path}: {e.strerror}') from None
  except json.JSONDecodeError as e:
    raise UsageError(f'search space {path} is not valid JSON: {e.msg} (line {e.lineno})') from None
  validate_search_space(space, str(path))
  return space


def _check_values(values, where: str) -> None:
  """Every number finite (NaN and infinity are not JSON, and no hyperparameter)."""
  for name, value in values.items():
    if isinstance(value, float) and not math.isfinite(value):
      raise UsageError(f'{where}: {name!r} is {value}; values must be finite numbers')


def validate_search_space(space, where: str = 'search space') -> None:
  if isinstance(space, list):
    if not space or not all(isinstance(p, dict) and p for p in space):
      raise UsageError(f'{where}: a list search space must hold non-empty objects of '
                       'fixed hyperparameters')
    for k, point in enumerate(space, start=1):
      _check_values(point, f'{where}, point {k}')
    return
  if not isinstance(space, dict) or not space:
    raise UsageError(f'{where}: expected a non-empty object or a list of objects')
  if len(space) > len(_PRIMES):
    raise UsageError(f'{where}: at most {len(_PRIMES)} hyperparameters can be drawn')
  for name, spec in space.items():
    if not isinstance(spec, dict):
      raise UsageError(f'{where}: {name!r} must be an object with min/max/scaling or '
                       'feasible_points')
    if 'feasible_points' in spec:
      if not isinstance(spec['feasible_points'], list) or not spec['feasible_points']:
        raise UsageError(f'{where}: {name!r}.feasible_points must be a non-empty list')
      continue
    missing = {'min', 'max'} - set(spec)
    if missing:
      raise UsageError(f'{where}: {name!r} lacks {", ".join(sorted(missing))}')
    lo, hi, scaling = spec['min'], spec['max'], spec.get('scaling', 'linear')
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
      raise UsageError(f'{where}: {name!r}.min and .max must be numbers')
    _check_values({f'{name}.min': lo, f'{name}.max': hi}, where)
    if lo > hi:
      raise UsageError(f'{where}: {name!r} has min > max')
    if scaling not in ('linear', 'log'):
      raise UsageError(f'{where}: {name!r}.scaling must be "linear" or "log", not {scaling!r}')
    if scaling == 'log' and lo <= 0:
      raise UsageError(f'{where}: {name!r} has log scaling with min <= 0')


def halton(num_points: int, dims: int, seed: int) -> np.ndarray:
  """(num_points, dims) points in [0, 1): the Halton sequence with seeded digit permutations.

  Dimension d uses the d-th prime as its base; each digit position of each base gets its own
  random permutation of the digits (0 kept fixed so that no point leaves [0, 1)). Index 0 is
  skipped, since it maps to the origin in every dimension.
  """
  rng = np.random.default_rng(seed)
  points = np.zeros((num_points, dims))
  for d in range(dims):
    base = _PRIMES[d]
    digits_needed = max(1, math.ceil(math.log(num_points + 1, base)) + 1)
    perms = [np.concatenate([[0], 1 + rng.permutation(base - 1)]) for _ in range(digits_needed)]
    for i in range(num_points):
      n, value, scale, k = i + 1, 0.0, 1.0 / base, 0
      while n:
        n, digit = divmod(n, base)
        value += perms[k][digit] * scale
        scale /= base
        k += 1
      points[i, d] = value
  return points


def draw_trials(space: SearchSpace, num_trials: int, seed: int) -> list[dict[str, Any]]:
  """The hyperparameters of trials 1..num_trials of one study."""
  if isinstance(space, list):
    if num_trials > len(space):
      raise UsageError(f'{num_trials} trials asked for, but the search space lists only '
                       f'{len(space)} points')
    return [dict(p) for p in space[:num_trials]]
  names = sorted(space)
  unit = halton(num_trials, len(names), seed)
  trials = []
  for row in unit:
    point = {}
    for name, u in zip(names, row):
      spec = space[name]
      if 'feasible_points' in spec:
        options = spec['feasible_points']
        point[name] = options[min(int(u * len(options)), len(options) - 1)]
      elif spec.get('scaling', 'linear') == 'log':
        lo, hi = math.log(spec['min']), math.log(spec['max'])
        point[name] = float(math.exp(lo + u * (hi - lo)))
      else:
        point[name] = float(spec['min'] + u * (spec['max'] - spec['min']))
    trials.append(point)
  return trials


def derive_seed(*path: int) -> int:
  """A 31-bit seed that differs for every (rng_seed, study, trial) path."""
  return int(np.random.SeedSequence(list(path)).generate_state(1)[0] & 0x7FFFFFFF)


def study_seed(rng_seed: int, study: int) -> int:
  return derive_seed(rng_seed, study)


def trial_seed(rng_seed: int, study: int, trial: int) -> int:
  return derive_seed(rng_seed, study, trial)


def make_hyperparameters(values: Mapping[str, Any] | None):
  """An immutable, attribute-accessible, hashable record (`h.learning_rate`), or None."""
  if values is None:
    return None
  bad = [k for k in values if not k.isidentifier()]
  if bad:
    raise UsageError(f'hyperparameter names must be identifiers: {", ".join(bad)}')
  cls = collections.namedtuple('Hyperparameters', sorted(values))
  return cls(**{k: values[k] for k in sorted(values)})

"""Where the submissions' search spaces live, and the point a submission uses when nobody
tunes it (the self-tuning ruleset): the first point of its own search space."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any


def search_space_path(submission: str) -> Path | None:
  """`configs/search_spaces/<submission>.json`, or None when it has none."""
  path = Path(str(resources.files('configs') / 'search_spaces' / f'{submission}.json'))
  return path if path.is_file() else None


def default_point(submission: str) -> dict[str, Any]:
  """The first point of the submission's search space (a list of points)."""
  path = search_space_path(submission)
  if path is None:
    raise FileNotFoundError(f'no search space for submission {submission!r}')
  space = json.loads(path.read_text())
  if not isinstance(space, list):
    raise ValueError(f'{path}: the default point needs a list of points')
  return dict(space[0])

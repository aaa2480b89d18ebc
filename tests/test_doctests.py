"""Every docstring example in the project's packages runs as a test.

Discovered: each module whose source holds a `>>>` example; a module counts only when its
examples ran (attempted > 0), so an example hidden from doctest fails here.
"""

import doctest
import importlib

import pytest

from tests.conftest import REPO

PACKAGES = ('avgperf', 'configs', 'scoring', 'submissions', 'workloads')


def _modules_with_examples() -> list[str]:
  found = []
  for package in PACKAGES:
    for path in sorted((REPO / package).rglob('*.py')):
      if '>>>' in path.read_text(encoding='utf-8'):
        parts = path.relative_to(REPO).with_suffix('').parts
        found.append('.'.join(parts[:-1] if parts[-1] == '__init__' else parts))
  return found


MODULES = _modules_with_examples()


def test_examples_were_found():
  assert len(MODULES) > 10


@pytest.mark.parametrize('name', MODULES)
def test_doctests(name):
  result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
  assert result.attempted > 0, f'{name} has examples doctest did not find'
  assert result.failed == 0

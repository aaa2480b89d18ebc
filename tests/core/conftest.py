"""Fixtures shared by the core tests' modules."""

import pytest

from tests.core import launchers


@pytest.fixture(scope='session')
def one_worker_sweep(tmp_path_factory):
  """The launcher tests' small suite run by one local worker: what every launcher must
  reproduce."""
  folder = tmp_path_factory.mktemp('one_worker')
  launchers.finish(launchers.start(folder))
  return folder

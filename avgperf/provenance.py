"""Where a trial ran: package versions, devices, git revision, Python, the command line."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jax


def _git_revision() -> str | None:
  try:
    return subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                          cwd=Path(__file__).parent, timeout=5, check=True).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None


def environment() -> dict:
  """Package versions, devices, git revision, Python and the command line of this process."""
  versions = {}
  for package in ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint', 'numpy',
                  'tensorflow-cpu', 'tensorflow', 'tensorflow-datasets'):
    try:
      versions[package] = metadata.version(package)
    except metadata.PackageNotFoundError:
      pass
  return {
      'packages': versions,
      'python': platform.python_version(),
      'platform': platform.platform(),
      'devices': [str(d) for d in jax.devices()],
      'device_kind': jax.devices()[0].device_kind,
      'process_count': jax.process_count(),
      'git_revision': _git_revision(),
      'command_line': sys.argv,
  }

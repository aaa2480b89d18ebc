"""The weights a trial ended with, kept as an artifact: `<trial_dir>/final/<name>/` (orbax) for
`raw` (the trained weights), `evaluated` (what the trial's own eval saw: the raw weights or an
average) and each named average, with `final/meta.json` (the workload, the step, the names).

Written once a trial has ended, into a folder beside and then renamed, so that a `final/`
that exists is whole. `avgperf export` reads it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

FINAL = 'final'
META = 'meta.json'


def save(trial_dir: Path, named: Mapping[str, tuple[Any, Any]], meta: Mapping[str, Any]) -> None:
  """Saves name -> (params, model_state) under `trial_dir/final/`, replacing what was there."""
  final = Path(trial_dir).absolute() / FINAL
  partial = final.with_name(f'.{FINAL}.partial')
  shutil.rmtree(partial, ignore_errors=True)
  partial.mkdir(parents=True)
  checkpointer = ocp.StandardCheckpointer()
  for name, (params, model_state) in named.items():
    checkpointer.save(partial / name, {'params': params, 'model_state': model_state})
  checkpointer.wait_until_finished()
  (partial / META).write_text(json.dumps({**meta, 'names': sorted(named)}, indent=2) + '\n')
  if final.exists():
    old = final.with_name(f'.{FINAL}.old')
    shutil.rmtree(old, ignore_errors=True)
    os.replace(final, old)
    os.replace(partial, final)
    shutil.rmtree(old)
  else:
    os.replace(partial, final)


def meta(trial_dir: Path) -> dict[str, Any]:
  """What `final/meta.json` records; FileNotFoundError when the trial saved no final weights."""
  return json.loads((Path(trial_dir) / FINAL / META).read_text())


def load(trial_dir: Path, name: str) -> dict[str, Any]:
  """{'params': ..., 'model_state': ...} of `name`, as numpy arrays on the host."""
  path = Path(trial_dir).absolute() / FINAL / name
  return jax.tree.map(np.asarray, ocp.StandardCheckpointer().restore(path))


def flatten(tree: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """'params/Dense_0/kernel' -> array: the keys of an .npz anyone can read."""
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {jax.tree_util.keystr(path, simple=True, separator='/'): np.asarray(leaf)
          for path, leaf in leaves}


def unflatten(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
  """The nested dicts `flatten` came from."""
  out: dict[str, Any] = {}
  for key, value in arrays.items():
    node = out
    *parents, leaf = key.split('/')
    for part in parents:
      node = node.setdefault(part, {})
    node[leaf] = value
  return out

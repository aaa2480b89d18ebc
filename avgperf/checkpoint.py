"""Saving and restoring a trial's state with orbax.

The state is every array of (params, model_state, optimizer_state) plus a JSON record of the
loop's counters. Optimizer states may hold things that are not arrays (AlgoPerf's baseline
keeps its update function there); those are rebuilt by the untimed init on resume, and the
restored arrays are put back into that fresh structure, leaf by leaf.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from avgperf import trial_files



def _is_array(leaf) -> bool:
  return isinstance(leaf, (jax.Array, np.ndarray, np.generic))


def _arrays(state) -> dict[str, Any]:
  return {f'{i:06d}': leaf for i, leaf in enumerate(jax.tree.leaves(state)) if _is_array(leaf)}


class Checkpointer:
  """Keeps the latest checkpoint of one trial under `trial_dir/checkpoints/<step>`."""

  def __init__(self, trial_dir: Path):
    self._manager = ocp.CheckpointManager(
        Path(trial_dir).absolute() / trial_files.CHECKPOINTS,
        options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True,
                                             enable_async_checkpointing=False))

  def save(self, step: int, state, record: dict) -> None:
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(_arrays(state)), record=ocp.args.JsonSave(record)))
    self._manager.wait_until_finished()

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def restore(self, fresh_state):
    """(state, record) of the latest checkpoint; `fresh_state` gives structure and shardings."""
    step = self._manager.latest_step()
    if step is None:
      raise FileNotFoundError('no checkpoint to resume from')
    leaves, treedef = jax.tree.flatten(fresh_state)
    abstract = {k: ocp.utils.to_shape_dtype_struct(v) for k, v in _arrays(fresh_state).items()}
    restored = self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract), record=ocp.args.JsonRestore()))
    arrays = restored['state']
    new_leaves = [arrays[f'{i:06d}'] if _is_array(leaf) else leaf
                  for i, leaf in enumerate(leaves)]
    return jax.tree.unflatten(treedef, new_leaves), restored['record']

  def close(self) -> None:
    self._manager.close()

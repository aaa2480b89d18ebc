"""Saving and restoring a trial's state with orbax.

The state is every array of (params, model_state, optimizer_state) plus a JSON record of the
loop's counters and a fingerprint of the arrays. Optimizer states may hold things that are
not arrays (AlgoPerf's baseline keeps its update function there); those are rebuilt by the
untimed init on resume, and the restored arrays are put back into that fresh structure.

The last two checkpoints are kept. A restore checks each against its fingerprint, newest
first, and deletes one that cannot be read or does not match (a disk that filled up, a file
overwritten), so a trial falls back to the one before, or to its start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from avgperf import trial_files
from avgperf.errors import warn


def _is_array(leaf) -> bool:
  return isinstance(leaf, (jax.Array, np.ndarray, np.generic))


def _arrays(state) -> dict[str, Any]:
  return {f'{i:06d}': leaf for i, leaf in enumerate(jax.tree.leaves(state)) if _is_array(leaf)}


@jax.jit
def _fingerprint(arrays: dict[str, Any]) -> dict[str, jax.Array]:
  """Per array, the wrapping sum of its bits as uint32 (on the device, sharded or not)."""
  def leaf(x):
    x = jnp.asarray(x)
    if x.dtype == jnp.bool_:
      x = x.astype(jnp.uint8)
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      x = jax.random.key_data(x)
    unsigned = {1: jnp.uint8, 2: jnp.uint16, 4: jnp.uint32, 8: jnp.uint32}[x.dtype.itemsize]
    bits = jax.lax.bitcast_convert_type(x, unsigned)
    return jnp.sum(bits.astype(jnp.uint32), dtype=jnp.uint32)
  return jax.tree.map(leaf, arrays)


def fingerprint(state) -> dict[str, int]:
  return {k: int(v) for k, v in jax.device_get(_fingerprint(_arrays(state))).items()}


class Checkpointer:
  """Keeps the last two checkpoints of one trial under `trial_dir/checkpoints/<step>`."""

  def __init__(self, trial_dir: Path):
    self._manager = ocp.CheckpointManager(
        Path(trial_dir).absolute() / trial_files.CHECKPOINTS,
        options=ocp.CheckpointManagerOptions(max_to_keep=2, create=True,
                                             enable_async_checkpointing=False))

  def save(self, step: int, state, record: dict) -> None:
    record = {**record, 'fingerprint': fingerprint(state)}
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(_arrays(state)), record=ocp.args.JsonSave(record)))
    self._manager.wait_until_finished()

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def restore(self, fresh_state) -> tuple[Any, dict] | None:
    """(state, record) of the newest good checkpoint, or None when none is good.

    `fresh_state` gives the structure, dtypes and shardings. A checkpoint that fails to
    restore or to match its fingerprint is deleted with a one-line warning.
    """
    leaves, treedef = jax.tree.flatten(fresh_state)
    abstract = {k: ocp.utils.to_shape_dtype_struct(v) for k, v in _arrays(fresh_state).items()}
    for step in sorted(self._manager.all_steps(), reverse=True):
      try:
        restored = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract), record=ocp.args.JsonRestore()))
        arrays, record = restored['state'], dict(restored['record'])
        expected = record.pop('fingerprint', None)
        if expected is not None and fingerprint(arrays) != expected:
          raise ValueError('its arrays do not match their fingerprint')
      except Exception as e:  # pylint: disable=broad-except
        why = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        warn(f'{self._manager.directory}/{step} is damaged ({why}); deleted it and fell back '
             'to the checkpoint before it, if any')
        self._manager.delete(step)
        self._manager.reload()
        continue
      new_leaves = [arrays[f'{i:06d}'] if _is_array(leaf) else leaf
                    for i, leaf in enumerate(leaves)]
      return jax.tree.unflatten(treedef, new_leaves), record
    return None

  def close(self) -> None:
    self._manager.close()

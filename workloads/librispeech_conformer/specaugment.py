"""SpecAugment on log-mel features (spec §5.1), training only: time masks, then frequency masks.

Each of `count` masks per utterance draws a length `int(u * max_length)` (u uniform in
[0, 1)), capped at `max(int(max_ratio * range), 1)`, and a start `int(v * (range - length +
1))`; the positions [start, start + length) of every mask are multiplied by 0. Time masks
range over the utterance's unpadded frames, with a maximum length of 5% of them (the
dynamic maximum; the static 40-frame cap is not used); frequency masks over all bins, with
a maximum of 27.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class SpecAugmentConfig:
  time_mask_count: int = 10
  time_mask_max_ratio: float = 0.05
  freq_mask_count: int = 2
  freq_mask_max_bins: int = 27


def keep_mask(rng: jax.Array, choose_range: jax.Array, max_length: jax.Array, size: int,
              count: int, max_ratio: float) -> jax.Array:
  """(B, size) float: 0 where any of `count` random masks per row covers a position, else 1.

  Args:
    rng: key of the draws (lengths first, then starts).
    choose_range: (B,) the positions a mask may cover, [0, choose_range).
    max_length: (B,) the largest mask length drawn.
    size: the length of the masked axis.
    count: masks per row.
    max_ratio: a mask is at most `max(int(max_ratio * choose_range), 1)` long.
  """
  length_key, start_key = jax.random.split(rng)
  batch = choose_range.shape[0]
  portion = jax.random.uniform(length_key, (batch, count))
  length = (max_length[:, None] * portion).astype(jnp.int32)
  bound = (max_ratio * choose_range[:, None]).astype(jnp.int32)
  length = jnp.minimum(length, jnp.maximum(bound, 1))
  start_portion = jax.random.uniform(start_key, (batch, count))
  start = (start_portion * (choose_range[:, None] - length + 1)).astype(jnp.int32)
  position = jnp.arange(size)[None, None, :]
  covered = (position >= start[..., None]) & (position < (start + length)[..., None])
  return 1.0 - jnp.any(covered, axis=1).astype(jnp.float32)


def spec_augment(rng: jax.Array, features: jax.Array, paddings: jax.Array,
                 config: SpecAugmentConfig = SpecAugmentConfig()) -> jax.Array:
  """Masks (B, T, F) `features` along time (within each row's unpadded frames), then bins."""
  time_key, freq_key = jax.random.split(rng)
  batch, frames, bins = features.shape
  lengths = jnp.sum(1.0 - paddings, axis=1).astype(jnp.int32)
  time_keep = keep_mask(time_key, lengths, lengths * config.time_mask_max_ratio, frames,
                        config.time_mask_count, config.time_mask_max_ratio)
  features = features * time_keep[:, :, None]
  all_bins = jnp.full((batch,), bins, jnp.int32)
  freq_keep = keep_mask(freq_key, all_bins,
                        jnp.full((batch,), config.freq_mask_max_bins, jnp.float32), bins,
                        config.freq_mask_count, 1.0)
  return features * freq_keep[:, None, :]

"""DLRM-small (spec §8.1): a bottom MLP over the dense features, one shared embedding table
for the 26 categorical features, pairwise dot interactions, a top MLP to one logit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from workloads.common.layers import Dropout
from workloads.criteo1tb.embedding import take_rows

NUM_DENSE_FEATURES = 13
NUM_CATEGORICAL_FEATURES = 26
DROPOUT_RATE = 0.0


def dot_interactions(features: jax.Array) -> jax.Array:
  """(B, F, D) -> (B, F (F + 1) / 2): every pairwise dot product, the upper triangle of the
  F x F Gram matrix row by row, diagonal included (each feature with itself, as in AlgoPerf:
  the top MLP's input width, 506, and so the parameter count depend on it)."""
  gram = jnp.einsum('bfd,bgd->bfg', features, features)
  rows, cols = np.triu_indices(features.shape[1])
  return gram[:, rows, cols]


def _normal(stddev: float):
  return nn.initializers.normal(stddev=float(stddev))


class DlrmSmall(nn.Module):
  """DLRM-small: 539,267,457 params at the defaults, 536,870,912 of them in the table.

  Input: (B, 13 + 26) float32, the log-transformed dense features and then the hashed
  categorical ids as floats (AlgoPerf's layout, spec §13.6). The ids are cast to int32 and
  taken mod `vocab_size` into one table shared by all 26 features.

  Attributes:
    lookup: `(table, ids) -> table[ids]`; the workload passes one that runs where a
      row-split table's rows live (embedding.row_sharded_lookup).
  """

  vocab_size: int = 32 * 128 * 1024
  embed_dim: int = 128
  mlp_bottom_dims: Sequence[int] = (512, 256, 128)
  mlp_top_dims: Sequence[int] = (1024, 1024, 512, 256, 1)
  embedding_init_multiplier: float | None = None  # None: 1 / sqrt(vocab_size)
  lookup: Callable[[jax.Array, jax.Array], jax.Array] = take_rows

  @nn.compact
  def __call__(self, x: jax.Array, train: bool, dropout_rate=DROPOUT_RATE) -> jax.Array:
    dense, categorical = x[:, :NUM_DENSE_FEATURES], x[:, NUM_DENSE_FEATURES:]
    # AlgoPerf's second hashing: the float ids (already rounded, spec §13.6) mod the table.
    ids = categorical.astype(jnp.int32) % self.vocab_size

    bottom = dense
    for width in self.mlp_bottom_dims:
      bottom = nn.Dense(width, kernel_init=nn.initializers.glorot_uniform(),
                        bias_init=_normal(np.sqrt(1.0 / width)))(bottom)
      bottom = nn.relu(bottom)

    scale = (1.0 / np.sqrt(self.vocab_size) if self.embedding_init_multiplier is None
             else self.embedding_init_multiplier)
    table = self.param('embedding_table',
                       lambda key, shape: jax.random.uniform(key, shape) * scale,
                       (self.vocab_size, self.embed_dim))
    embedded = self.lookup(table, ids)  # (B, 26, D)
    features = jnp.concatenate([bottom[:, None, :], embedded], axis=1)
    top = jnp.concatenate([bottom, dot_interactions(features)], axis=-1)

    fan_in = top.shape[-1]
    for i, width in enumerate(self.mlp_top_dims):
      top = nn.Dense(width, kernel_init=_normal(np.sqrt(2.0 / (fan_in + width))),
                     bias_init=_normal(np.sqrt(1.0 / width)))(top)
      fan_in = width
      if i < len(self.mlp_top_dims) - 1:
        top = nn.relu(top)
      if i == len(self.mlp_top_dims) - 2:
        top = Dropout()(top, dropout_rate, deterministic=not train)
    return top

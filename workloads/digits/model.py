"""A multi-layer perceptron classifier."""

from collections.abc import Sequence

import flax.linen as nn
import jax

from workloads.common.layers import Dropout


class MLP(nn.Module):
  hidden: Sequence[int] = (256, 256)
  num_classes: int = 10

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool, dropout_rate=0.0) -> jax.Array:
    x = x.reshape((x.shape[0], -1))
    for width in self.hidden:
      x = nn.relu(nn.Dense(width)(x))
      x = Dropout()(x, dropout_rate, deterministic=not train)
    return nn.Dense(self.num_classes)(x)

"""ResNet v1.5 with bottleneck blocks and batch norm (spec §3.1).

The stride of a down-sampling block sits on its 3x3 conv (v1.5), and the last batch norm of
each block starts with scale 0, so every block starts as the identity.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

# Running statistics: running = 0.9 * running + 0.1 * batch (flax convention), epsilon 1e-5.
BatchNorm = functools.partial(nn.BatchNorm, momentum=0.9, epsilon=1e-5)
Conv = functools.partial(nn.Conv, use_bias=False)


class BottleneckResNetBlock(nn.Module):
  """1x1 conv, 3x3 conv (strided), 1x1 conv to 4x `filters`; projection when shapes change."""

  filters: int
  strides: tuple[int, int] = (1, 1)
  act: Callable = nn.relu
  bn_init_scale: float = 0.0

  @nn.compact
  def __call__(self, x: jax.Array, *, use_running_average_bn: bool) -> jax.Array:
    norm = functools.partial(BatchNorm, use_running_average=use_running_average_bn)
    residual = x
    y = self.act(norm()(Conv(self.filters, (1, 1))(x)))
    # flax 'SAME' padding on a stride-2 3x3 conv pads 0 before and 1 after (spec §13.1).
    y = self.act(norm()(Conv(self.filters, (3, 3), self.strides)(y)))
    y = Conv(self.filters * 4, (1, 1))(y)
    y = norm(scale_init=nn.initializers.constant(self.bn_init_scale))(y)
    if residual.shape != y.shape or self.strides != (1, 1):
      residual = Conv(self.filters * 4, (1, 1), self.strides, name='Conv_proj')(residual)
      residual = norm(name='BatchNorm_proj')(residual)
    return self.act(residual + y)


class ResNet(nn.Module):
  """Stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool), bottleneck stages, global mean, Dense.

  Attributes:
    stage_sizes: blocks per stage; stage i has width `num_filters * 2**i` (x4 at its output).
    num_classes: outputs of the final Dense (`Dense_0`, kernel normal(0.01), zero bias).
    num_filters: width of the stem and of the first stage.
    bn_init_scale: initial scale of the last batch norm of every block.
  """

  stage_sizes: Sequence[int]
  num_classes: int = 1000
  num_filters: int = 64
  act: Callable = nn.relu
  bn_init_scale: float = 0.0

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool, dropout_rate=None,
               use_running_average_bn: bool | None = None) -> jax.Array:
    """Batch norm uses its running statistics when `use_running_average_bn` (default: not
    `train`); this model has no dropout."""
    del dropout_rate
    running = not train if use_running_average_bn is None else use_running_average_bn
    x = Conv(self.num_filters, (7, 7), (2, 2), padding=[(3, 3), (3, 3)], name='Conv_init')(x)
    x = BatchNorm(use_running_average=running, name='BatchNorm_init')(x)
    x = nn.max_pool(self.act(x), (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
    for i, num_blocks in enumerate(self.stage_sizes):
      for j in range(num_blocks):
        strides = (2, 2) if i > 0 and j == 0 else (1, 1)
        x = BottleneckResNetBlock(self.num_filters * 2**i, strides, self.act,
                                  self.bn_init_scale)(x, use_running_average_bn=running)
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, kernel_init=nn.initializers.normal(0.01), name='Dense_0')(x)


ResNet50 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3))
# The digits sibling: one block per stage, 16 filters, 10 classes (on 64x64 inputs).
ResNetSmall = functools.partial(ResNet, stage_sizes=(1, 1, 1, 1), num_filters=16, num_classes=10)

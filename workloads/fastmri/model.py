"""The fastMRI U-Net (spec §9.1): instance norm, LeakyReLU(0.2), average pooling,
transposed-conv up-sampling, skip connections.

Input and output are (batch, height, width) images; the channel axis is added inside.

No dropout, whatever rate a submission passes: AlgoPerf's U-Net takes a rate but its conv
blocks call their dropout with the default of 0.0, so its train output at any rate equals
its eval output, and the published fastMRI targets were set with that model (spec §13 rule:
keep AlgoPerf's behaviour where the targets depend on it).
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp



def instance_norm(x: jax.Array, epsilon: float = 1e-5) -> jax.Array:
  """Per example and channel: (x - mean) / sqrt(var + eps) over height and width; no affine.

  The variance is E[x^2] - E[x]^2, both means from one pass over the activations (as
  AlgoPerf computes it; `jnp.var` reads them twice), clamped at 0 against rounding. The
  activations it sees are conv outputs of normalised inputs, whose mean is small beside their
  spread, so the cancellation costs little (a test compares it with the two-pass variance).
  """
  mean = jnp.mean(x, axis=(1, 2), keepdims=True)
  mean_of_squares = jnp.mean(jnp.square(x), axis=(1, 2), keepdims=True)
  var = jnp.maximum(mean_of_squares - jnp.square(mean), 0.0)
  return (x - mean) * jax.lax.rsqrt(var + epsilon)


def leaky_relu(x: jax.Array) -> jax.Array:
  return nn.leaky_relu(x, negative_slope=0.2)


class ConvBlock(nn.Module):
  """(3x3 conv without bias -> instance norm -> LeakyReLU(0.2)) x 2 (AlgoPerf's dropout
  after each is always at rate 0: see the module docstring)."""

  channels: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    for _ in range(2):
      x = leaky_relu(instance_norm(nn.Conv(self.channels, (3, 3), use_bias=False)(x)))
    return x


class TransposeConvBlock(nn.Module):
  """2x2 stride-2 transposed conv without bias -> instance norm -> LeakyReLU(0.2)."""

  channels: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x = nn.ConvTranspose(self.channels, (2, 2), strides=(2, 2), use_bias=False)(x)
    return leaky_relu(instance_norm(x))


class UNet(nn.Module):
  """Encoder of `num_pool_layers` ConvBlocks (channels doubling) with 2x2 average pooling,
  a bottleneck ConvBlock, a mirrored decoder with skips, and a 1x1 output conv with bias.

  Attributes:
    num_channels: channels of the first ConvBlock.
    num_pool_layers: down-sampling steps.
  """

  num_channels: int = 32
  num_pool_layers: int = 4

  @nn.compact
  def __call__(self, x: jax.Array, *, train: bool, dropout_rate=None) -> jax.Array:
    del train, dropout_rate  # no dropout (see the module docstring)
    x = x[..., None]
    skips, ch = [], self.num_channels
    for _ in range(self.num_pool_layers):
      x = ConvBlock(ch)(x)
      skips.append(x)
      x = nn.avg_pool(x, (2, 2), strides=(2, 2))
      ch *= 2
    x = ConvBlock(ch)(x)
    for skip in reversed(skips):
      ch //= 2
      x = TransposeConvBlock(ch)(x)
      # Odd sizes: reflect-pad the bottom and right to the skip's size.
      pad_h, pad_w = skip.shape[1] - x.shape[1], skip.shape[2] - x.shape[2]
      if pad_h or pad_w:
        x = jnp.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode='reflect')
      x = ConvBlock(ch)(jnp.concatenate([x, skip], axis=-1))
    return nn.Conv(1, (1, 1))(x)[..., 0]


UNetFastMRI = functools.partial(UNet, num_channels=32, num_pool_layers=4)
# The phantom sibling: 8 channels on 64x64 images.
UNetSmall = functools.partial(UNet, num_channels=8, num_pool_layers=4)

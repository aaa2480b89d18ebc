"""The Conformer encoder with a CTC head (spec §5.1): AlgoPerf's `librispeech_conformer` model.

    audio -> log-mel (frontend) -> SpecAugment (training) -> 2 strided 3x3 convs (time / 4)
    -> Dense -> + sinusoidal positions -> dropout -> N x ConformerBlock -> LayerNorm -> Dense

    ConformerBlock:  x += 0.5 FF(x);  x += MHSA(x);  x += Conv(x);  x += 0.5 FF(x);  LN(x)

Padded frames (paddings 1) are kept out of every statistic: feed-forward outputs and the
convolution's input are zeroed there, attention masks them as queries and keys, and batch
norm takes its mean and variance over valid frames only.

Module and parameter names follow AlgoPerf's (`Subsample_0`, `ConformerBlock_i/...`,
`Dense_0`), so the parameter tree matches the spec's table leaf by leaf.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from workloads.common.layers import Dropout
from workloads.librispeech_conformer import frontend
from workloads.librispeech_conformer.specaugment import SpecAugmentConfig, spec_augment

DROPOUT_RATE = 0.1  # the model's default: input, feed-forward (inner and output), MHSA, conv
xavier = nn.initializers.xavier_uniform()


@dataclasses.dataclass(frozen=True)
class ConformerConfig:
  """The model's sizes and switches; the defaults are the full-size workload's.

  Attributes:
    use_frontend: inputs are raw audio through the log-mel front end; when False they are
      already features (B, frames, bins) with frame paddings (the synthetic sibling).
  """

  vocab_size: int = 1024
  encoder_dim: int = 512
  num_attention_heads: int = 8
  num_encoder_layers: int = 4
  convolution_kernel_size: int = 5
  feed_forward_expansion_factor: int = 4
  batch_norm_momentum: float = 0.999
  batch_norm_epsilon: float = 1e-3
  attention_temperature: float = 1.0
  use_post_layer_norm: bool = True
  use_specaug: bool = True
  specaug: SpecAugmentConfig = SpecAugmentConfig()
  use_frontend: bool = True


class LayerNorm(nn.Module):
  """Layer norm over the last axis, output `normed * (1 + scale) + bias`, both params 0 at init."""

  epsilon: float = 1e-6

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    dim = x.shape[-1]
    scale = self.param('scale', nn.initializers.zeros, (dim,))
    bias = self.param('bias', nn.initializers.zeros, (dim,))
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + self.epsilon) * (1 + scale) + bias


class Conv2dSubsampling(nn.Module):
  """3x3 conv with stride 2 in time and frequency ('SAME'), bias, ReLU; every 2nd frame's
  padding is kept, and outputs at padded frames are zeroed."""

  features: int

  @nn.compact
  def __call__(self, x: jax.Array, paddings: jax.Array) -> tuple[jax.Array, jax.Array]:
    kernel = self.param('kernel', xavier, (3, 3, x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    y = jax.lax.conv_general_dilated(x, kernel, (2, 2), 'SAME',
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    y = nn.relu(y + bias)
    paddings = paddings[:, ::2]
    return y * (1.0 - paddings)[:, :, None, None], paddings


def sinusoidal_positions(length: int, dim: int) -> jax.Array:
  """(1, length, dim): [sin | cos] of position x dim/2 timescales geometric from 1 to 1e4."""
  num_timescales = dim // 2
  increment = math.log(1e4) / max(num_timescales - 1, 1)
  inv_timescales = jnp.exp(jnp.arange(num_timescales, dtype=jnp.float32) * -increment)
  scaled = jnp.arange(length, dtype=jnp.float32)[:, None] * inv_timescales[None]
  signal = jnp.concatenate([jnp.sin(scaled), jnp.cos(scaled)], axis=1)
  return jnp.pad(signal, [(0, 0), (0, dim % 2)])[None]


class Subsample(nn.Module):
  """Two `Conv2dSubsampling`s (1 -> D -> D channels), flatten, Dense D, positions, dropout."""

  encoder_dim: int

  @nn.compact
  def __call__(self, x, paddings, *, train: bool, dropout_rate):
    x = x[..., None]
    x, paddings = Conv2dSubsampling(self.encoder_dim)(x, paddings)
    x, paddings = Conv2dSubsampling(self.encoder_dim)(x, paddings)
    batch, frames, bins, channels = x.shape
    x = nn.Dense(self.encoder_dim, kernel_init=xavier)(x.reshape(batch, frames, bins * channels))
    x = x + sinusoidal_positions(frames, self.encoder_dim)
    return Dropout()(x, dropout_rate, deterministic=not train), paddings


class FeedForwardModule(nn.Module):
  """LN, Dense 4D, swish, dropout, mask, Dense D, mask, dropout."""

  config: ConformerConfig

  @nn.compact
  def __call__(self, x, valid, *, train: bool, dropout_rate):
    c = self.config
    x = LayerNorm()(x)
    x = nn.swish(nn.Dense(c.encoder_dim * c.feed_forward_expansion_factor, kernel_init=xavier)(x))
    x = Dropout()(x, dropout_rate, deterministic=not train) * valid
    x = nn.Dense(c.encoder_dim, kernel_init=xavier)(x) * valid
    return Dropout()(x, dropout_rate, deterministic=not train)


class QueryScaler(nn.Module):
  """Scales each query dimension by softplus(s) / softplus(0), s a parameter starting at 0."""

  @nn.compact
  def __call__(self, query: jax.Array) -> jax.Array:
    scale = self.param('scale', nn.initializers.zeros, (query.shape[-1],))
    return query * (1.442695041 * jax.nn.softplus(scale))  # 1 / softplus(0) = 1 / ln 2


def scaled_query_attention(query, key, value, mask=None, *, temperature: float = 1.0):
  """flax's attention (1/sqrt(depth) scaling, masked softmax) on a learned per-dimension
  scaling of the queries, the output multiplied by `temperature`. Called inside flax's
  MultiHeadDotProductAttention, so `QueryScaler_0` sits in its parameter scope."""
  query = QueryScaler()(query)
  return jax.nn.dot_product_attention(query, key, value, mask=mask) * temperature


class MultiHeadedSelfAttention(nn.Module):
  """LN, multi-head self-attention over valid frames (no attention dropout), dropout."""

  config: ConformerConfig

  @nn.compact
  def __call__(self, x, paddings, *, train: bool, dropout_rate):
    c = self.config
    valid = paddings < 0.5
    mask = nn.make_attention_mask(valid, valid, dtype=jnp.bool_)
    x = LayerNorm()(x)
    x = nn.MultiHeadDotProductAttention(
        num_heads=c.num_attention_heads, qkv_features=c.encoder_dim, kernel_init=xavier,
        bias_init=nn.initializers.zeros, use_bias=True, dropout_rate=0.0, deterministic=True,
        attention_fn=functools.partial(scaled_query_attention,
                                       temperature=c.attention_temperature))(x, mask=mask)
    return Dropout()(x, dropout_rate, deterministic=not train)


class BatchNorm(nn.Module):
  """Batch norm over the valid frames of the batch, scale `1 + gamma` (gamma 0 at init),
  running statistics r <- m r + (1 - m) batch (mean from 0, variance from 1), output zeroed
  at padded frames.

  AlgoPerf's form, kept as the published targets were set with it (spec §13.3): momentum
  0.999 and epsilon 1e-3 in the full-size model, and the population variance of the valid
  frames.
  """

  momentum: float
  epsilon: float

  @nn.compact
  def __call__(self, x, paddings, *, use_running_average: bool):
    dim = x.shape[-1]
    running_mean = self.variable('batch_stats', 'mean', jnp.zeros, (dim,), jnp.float32)
    running_var = self.variable('batch_stats', 'var', jnp.ones, (dim,), jnp.float32)
    gamma = self.param('scale', nn.initializers.zeros, (dim,))
    beta = self.param('bias', nn.initializers.zeros, (dim,))
    valid = (1.0 - paddings)[..., None]
    if use_running_average:
      mean, var = running_mean.value, running_var.value
    else:
      count = jnp.maximum(jnp.sum(valid), 1.0)
      mean = jnp.sum(x * valid, axis=(0, 1)) / count
      var = jnp.sum(jnp.square(x - mean) * valid, axis=(0, 1)) / count
      if self.is_mutable_collection('batch_stats') and not self.is_initializing():
        running_mean.value = self.momentum * running_mean.value + (1 - self.momentum) * mean
        running_var.value = self.momentum * running_var.value + (1 - self.momentum) * var
    y = (x - mean) * ((1 + gamma) * jax.lax.rsqrt(var + self.epsilon)) + beta
    return y * valid


class ConvolutionBlock(nn.Module):
  """LN, a * sigmoid(b) of two Dense D, zero padded frames, depthwise conv (kernel 5, no
  bias), padding-aware batch norm, swish, Dense D, dropout."""

  config: ConformerConfig

  @nn.compact
  def __call__(self, x, paddings, *, train: bool, use_running_average_bn: bool, dropout_rate):
    c = self.config
    x = LayerNorm()(x)
    gated = nn.Dense(c.encoder_dim, kernel_init=xavier)(x)
    gate = nn.Dense(c.encoder_dim, kernel_init=xavier)(x)
    x = gated * jax.nn.sigmoid(gate) * (1.0 - paddings)[..., None]
    x = nn.Conv(c.encoder_dim, (c.convolution_kernel_size,), padding='SAME',
                feature_group_count=c.encoder_dim, use_bias=False, kernel_init=xavier)(x)
    x = BatchNorm(c.batch_norm_momentum, c.batch_norm_epsilon)(
        x, paddings, use_running_average=use_running_average_bn)
    x = nn.Dense(c.encoder_dim, kernel_init=xavier)(nn.swish(x))
    # AlgoPerf's docs list no dropout here, but its JAX code, which set the published
    # targets, has it (spec §13.2): kept.
    return Dropout()(x, dropout_rate, deterministic=not train)


class ConformerBlock(nn.Module):
  """x += FF/2; x += MHSA; x += Conv; x += FF/2; then LayerNorm (post-LN)."""

  config: ConformerConfig

  @nn.compact
  def __call__(self, x, paddings, *, train: bool, use_running_average_bn: bool, dropout_rate):
    c = self.config
    valid = (1.0 - paddings)[..., None]
    kw = dict(train=train, dropout_rate=dropout_rate)
    x = x + 0.5 * FeedForwardModule(c)(x, valid, **kw)
    x = x + MultiHeadedSelfAttention(c)(x, paddings, **kw)
    x = x + ConvolutionBlock(c)(x, paddings, use_running_average_bn=use_running_average_bn, **kw)
    x = x + 0.5 * FeedForwardModule(c)(x, valid, **kw)
    return LayerNorm()(x) if c.use_post_layer_norm else x


class Conformer(nn.Module):
  """Audio (or features) and paddings in; per-frame vocabulary logits and their paddings out.

  `train` switches SpecAugment and dropout (both draw from the 'dropout' rng); batch norm
  uses its running statistics when `use_running_average_bn` (default: not `train`) and
  updates them when the 'batch_stats' collection is mutable and it does not.
  """

  config: ConformerConfig = ConformerConfig()

  @nn.compact
  def __call__(self, inputs, input_paddings, *, train: bool,
               use_running_average_bn: bool | None = None, dropout_rate=None):
    c = self.config
    dropout_rate = DROPOUT_RATE if dropout_rate is None else dropout_rate
    running = not train if use_running_average_bn is None else use_running_average_bn
    if c.use_frontend:
      x, paddings = frontend.log_mel(inputs, input_paddings)
    else:
      x, paddings = inputs.astype(jnp.float32), input_paddings.astype(jnp.float32)
    if train and c.use_specaug:
      x = spec_augment(self.make_rng('dropout'), x, paddings, c.specaug)
    x, paddings = Subsample(c.encoder_dim)(x, paddings, train=train, dropout_rate=dropout_rate)
    for _ in range(c.num_encoder_layers):
      x = ConformerBlock(c)(x, paddings, train=train, use_running_average_bn=running,
                            dropout_rate=dropout_rate)
    x = LayerNorm()(x)
    return nn.Dense(c.vocab_size, kernel_init=xavier)(x), paddings

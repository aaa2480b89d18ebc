"""Decoder-only Transformer of finewebedu_lm (spec §10.1), in the NanoDO style AlgoPerf uses.

Pre-norm blocks x + Attn(RMSNorm(x)), then x + Mlp(RMSNorm(x)); attention with interleaved
RoPE, QK-norm and a learned scalar scale, causal, with softmax scale 1; a sigmoid-GLU MLP;
a final RMSNorm and logits x E^T through the tied embedding. No biases, no dropout.

Parameters are float32; the workload casts them to the compute dtype before the forward pass
(bfloat16 for the full model), so every layer computes in that dtype. Parameter names follow
AlgoPerf's tree (`embed`, `blocks_<i>/CausalAttn_0/query`, ..., `out_ln`), so checkpoints
map one to one.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class DecoderConfig:
  """Sizes and numerics of the decoder."""

  vocab_size: int
  seq_len: int  # the context the RoPE tables and the attention scale's start value are for
  model_dim: int
  num_heads: int
  num_layers: int
  expanded_model_dim: int  # the MLP's hidden size before rounding up to `multiple_of`
  multiple_of: int = 256
  rope_theta: float = 500_000.0
  rmsnorm_epsilon: float = 1e-6
  qknorm_epsilon: float = 1e-6
  init_std: float = 0.02
  param_dtype: jnp.dtype = jnp.float32
  compute_dtype: jnp.dtype = jnp.bfloat16

  @property
  def head_dim(self) -> int:
    return self.model_dim // self.num_heads

  @property
  def mlp_hidden_dim(self) -> int:
    # AlgoPerf's model computes a 2/3-shrunk size and overwrites it at once (spec §10.1).
    return self.multiple_of * -(-self.expanded_model_dim // self.multiple_of)

  @property
  def residual_init_std(self) -> float:
    """The std of the two projections that write into the residual stream."""
    return self.init_std / math.sqrt(2 * self.num_layers)


FINEWEBEDU_LM = DecoderConfig(vocab_size=50_257, seq_len=1024, model_dim=1024, num_heads=8,
                              num_layers=12, expanded_model_dim=4096)


# --- Rotary position embedding. ---------------------------------------------------------------

def rope_tables(seq_len: int, head_dim: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
  """(cos, sin), each (seq_len, head_dim // 2) float32: angle t / theta**(2i / head_dim)."""
  inv_freq = 1.0 / theta**(np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
  angles = np.arange(seq_len, dtype=np.float64)[:, None] * inv_freq[None, :]
  return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def apply_rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
  """Rotates each adjacent pair (2i, 2i+1) of x's last axis by position t's angle i.

  x is (batch, length, heads, head_dim); the rotation runs in float32 and the result has
  x's dtype. Positions are 0..length-1.
  """
  length = x.shape[1]
  pairs = x.reshape(*x.shape[:-1], -1, 2).astype(jnp.float32)
  cos = cos[None, :length, None, :]
  sin = sin[None, :length, None, :]
  even, odd = pairs[..., 0], pairs[..., 1]
  rotated = jnp.stack([even * cos - odd * sin, odd * cos + even * sin], axis=-1)
  return rotated.reshape(x.shape).astype(x.dtype)


# --- Attention. -------------------------------------------------------------------------------

def attention_implementation(dtype) -> str:
  """'cudnn' (AlgoPerf's flash attention) for 16-bit inputs on a GPU, 'xla' elsewhere.

  cuDNN's kernel exists only on NVIDIA GPUs and only for 16-bit inputs: AlgoPerf asks for it
  whenever the compute dtype is not float32, which fails on CPU (spec §13.8). XLA's path
  computes the same function (logits and softmax in float32) on every backend.
  """
  is_16_bit = jnp.dtype(dtype) in (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))
  return 'cudnn' if is_16_bit and jax.default_backend() == 'gpu' else 'xla'


@functools.cache
def _warn_cudnn_fallback(reason: str) -> None:
  logging.warning('cuDNN attention unavailable (%s); using XLA attention', reason)


def causal_attention(query: jax.Array, key: jax.Array, value: jax.Array,
                     implementation: str | None = None) -> jax.Array:
  """softmax(q k^T + causal mask) v per head, with scale 1 (QK-norm sets the scale).

  Inputs are (batch, length, heads, head_dim). `implementation` defaults to the backend's
  choice (`attention_implementation`); where cuDNN is asked for but cannot run on this GPU
  (too old, or an unsupported shape), XLA's path is used instead.
  """
  implementation = implementation or attention_implementation(query.dtype)
  attend = functools.partial(jax.nn.dot_product_attention, query, key, value, is_causal=True,
                             scale=1.0)
  if implementation != 'cudnn':
    return attend(implementation=implementation)
  # jax checks the GPU and the shapes for cuDNN when the call is traced and raises one of
  # these there, so the fallback is decided once per compilation, not per step.
  try:
    return attend(implementation='cudnn')
  except (RuntimeError, ValueError, NotImplementedError) as e:
    _warn_cudnn_fallback(str(e).splitlines()[0] if str(e) else type(e).__name__)
    return attend(implementation='xla')


class CausalAttn(nn.Module):
  """Multi-head causal self-attention with RoPE and QK-norm (spec §10.1, steps 1-6)."""

  config: DecoderConfig

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    cfg = self.config
    project = functools.partial(
        nn.DenseGeneral, features=(cfg.num_heads, cfg.head_dim), axis=-1, use_bias=False,
        kernel_init=nn.initializers.normal(cfg.init_std), dtype=cfg.compute_dtype,
        param_dtype=cfg.param_dtype)
    q, k, v = project(name='query')(x), project(name='key')(x), project(name='value')(x)
    cos, sin = rope_tables(cfg.seq_len, cfg.head_dim, cfg.rope_theta)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    q = q / (jnp.linalg.norm(q, axis=-1, keepdims=True) + cfg.qknorm_epsilon)
    k = k / (jnp.linalg.norm(k, axis=-1, keepdims=True) + cfg.qknorm_epsilon)
    # Stored in the compute dtype, as AlgoPerf does (spec §13.8): in bfloat16 its start value
    # ~20 has a spacing of 0.125, so optimiser steps smaller than that leave it unchanged.
    # Kept, since the published targets were set with it.
    scale = self.param('attn_scale', nn.initializers.constant(
        math.log2(cfg.seq_len**2 - cfg.seq_len), dtype=cfg.compute_dtype), ())
    out = causal_attention(q * scale, k, v)
    out = out.reshape(*x.shape[:-1], cfg.model_dim)
    return nn.DenseGeneral(
        cfg.model_dim, use_bias=False, kernel_init=nn.initializers.normal(cfg.residual_init_std),
        dtype=cfg.compute_dtype, param_dtype=cfg.param_dtype, name='attn_out_proj')(out)


class Mlp(nn.Module):
  """Dense(2F) -> GLU (a * sigmoid(b), the two halves) -> Dense(D)."""

  config: DecoderConfig

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    cfg = self.config
    dense = functools.partial(nn.Dense, use_bias=False, dtype=cfg.compute_dtype,
                              param_dtype=cfg.param_dtype)
    x = dense(2 * cfg.mlp_hidden_dim, kernel_init=nn.initializers.normal(cfg.init_std))(x)
    x = nn.glu(x, axis=-1)
    return dense(cfg.model_dim, kernel_init=nn.initializers.normal(cfg.residual_init_std))(x)


class DecoderBlock(nn.Module):
  """x + Attn(RMSNorm(x)), then x + Mlp(RMSNorm(x))."""

  config: DecoderConfig

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    cfg = self.config
    norm = functools.partial(nn.RMSNorm, epsilon=cfg.rmsnorm_epsilon,
                             param_dtype=cfg.param_dtype)
    x = x + CausalAttn(cfg, name='CausalAttn_0')(norm(name='RMSNorm_0')(x))
    return x + Mlp(cfg, name='Mlp_0')(norm(name='RMSNorm_1')(x))


class Decoder(nn.Module):
  """Token ids (batch, length) -> logits (batch, length, vocab), embeddings tied."""

  config: DecoderConfig

  @nn.compact
  def __call__(self, tokens: jax.Array) -> jax.Array:
    cfg = self.config
    embed = nn.Embed(cfg.vocab_size, cfg.model_dim,
                     embedding_init=nn.initializers.normal(cfg.init_std),
                     dtype=cfg.compute_dtype, param_dtype=cfg.param_dtype, name='embed')
    x = embed(tokens)
    for i in range(cfg.num_layers):
      x = DecoderBlock(cfg, name=f'blocks_{i}')(x)
    x = nn.RMSNorm(epsilon=cfg.rmsnorm_epsilon, param_dtype=cfg.param_dtype, name='out_ln')(x)
    return embed.attend(x)

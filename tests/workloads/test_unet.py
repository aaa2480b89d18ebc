"""The U-Net's two decisions: a one-pass instance norm as precise as the two-pass one on the
activations it sees, and AlgoPerf's behaviour of applying no dropout at any rate."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from avgperf import spec
from workloads import registry
from workloads.fastmri import model


def _two_pass(x, epsilon=1e-5):
  x = np.asarray(x, np.float64)
  mean = x.mean(axis=(1, 2), keepdims=True)
  return (x - mean) / np.sqrt(x.var(axis=(1, 2), keepdims=True) + epsilon)


@pytest.mark.parametrize('offset', [0.0, 1.0, 4.0])
def test_one_pass_instance_norm_matches_two_passes(offset):
  """On conv outputs of a real phantom batch, shifted by up to 4 standard deviations."""
  w = registry.get('fastmri_small')
  batch = next(iter(w.input_iterator('validation', jax.random.PRNGKey(0), 16)))
  params, _ = w.init_model_fn(jax.random.PRNGKey(0))
  kernel = params['ConvBlock_0']['Conv_0']['kernel']
  conv = jax.lax.conv_general_dilated(jnp.asarray(batch['inputs'])[..., None], kernel,
                                      (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  conv = conv + offset * conv.std(axis=(1, 2), keepdims=True)
  np.testing.assert_allclose(model.instance_norm(conv), _two_pass(conv), atol=2e-4, rtol=0)


@pytest.mark.parametrize('name', ['fastmri_small', 'fastmri'])
def test_no_dropout_at_any_rate(name):
  """As AlgoPerf's U-Net: the train output at rate 0.5 equals the eval output."""
  w = registry.get(name)
  params, state = w.init_model_fn(jax.random.PRNGKey(0))
  batch = jax.tree.map(jnp.asarray, w.synthetic_batch(1))
  train, _ = w.model_fn(params, batch, state, spec.ForwardPassMode.TRAIN,
                        jax.random.PRNGKey(1), True, dropout_rate=0.5)
  evaluated, _ = w.model_fn(params, batch, state, spec.ForwardPassMode.EVAL,
                            jax.random.PRNGKey(1), False)
  np.testing.assert_array_equal(train, evaluated)

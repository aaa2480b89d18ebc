"""What every registered workload promises, discovered from the registry: facts that are the
configs' own, a parameter tree with types, a forward pass and loss of the right shapes on a
synthetic batch (abstractly: no full-size model is allocated), and batch norm by AlgoPerf
v0.6's rule where the model has batch norm."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from avgperf import spec
from configs import workloads as workload_configs
from workloads import registry

NAMES = registry.names()


def _has_batch_norm(name) -> bool:
  return bool(jax.tree.leaves(registry.get(name).abstract_init()[1]))


def test_every_family_is_registered():
  assert {'digits', 'imagenet_resnet', 'imagenet_vit', 'fastmri'} <= set(NAMES)


@pytest.mark.parametrize('name', NAMES)
def test_facts_are_those_of_configs(name):
  w = registry.get(name)
  facts = workload_configs.facts(name)
  assert w.name == name
  assert (w.target_metric_name, w.target_metric_mode) == (facts.metric, facts.mode)
  assert w.validation_target_value == facts.validation_target
  assert w.max_allowed_runtime_sec == facts.max_runtime_sec and w.step_hint == facts.step_hint
  assert workload_configs.baseline_batch_size(name) == facts.batch_size > 0
  assert w.eval_batch_size > 0 and w.num_validation_examples > 0
  assert set(w.split_sizes()) >= {'eval_train', 'validation'}


@pytest.mark.parametrize('name', NAMES)
def test_parameter_tree_has_types_and_shapes(name):
  w = registry.get(name)
  params, _ = w.abstract_init()
  types = w.model_params_types
  assert jax.tree.structure(types) == jax.tree.structure(params)
  assert all(isinstance(t, spec.ParameterType) for t in jax.tree.leaves(types))
  shapes = jax.tree.leaves(w.param_shapes, is_leaf=lambda x: isinstance(x, spec.ShapeTuple))
  assert [s.shape_tuple for s in shapes] == [p.shape for p in jax.tree.leaves(params)]


@pytest.mark.parametrize('name', NAMES)
def test_forward_pass_and_loss_on_a_synthetic_batch(name):
  """Abstractly (jax.eval_shape): outputs one row per example, a finite scalar loss sum."""
  w = registry.get(name)
  batch = w.synthetic_batch(2)

  def forward(params, state, rng):
    out, new_state = w.model_fn(params, batch, state, spec.ForwardPassMode.TRAIN, rng,
                                update_batch_norm=True, dropout_rate=0.1)
    loss = w.loss_fn(batch['targets'], out, batch['weights'])
    return out, new_state, loss

  params, state = w.abstract_init()
  out, new_state, loss = jax.eval_shape(forward, params, state, jax.random.PRNGKey(0))
  # A row per example (or per shard); outputs may be a tuple (logits, their paddings).
  assert all(x.shape[0] == batch['targets'].shape[0] for x in jax.tree.leaves(out))
  assert loss['summed'].shape == () and loss['n_valid_examples'].shape == ()
  assert jax.tree.structure(new_state) == jax.tree.structure(state)


@pytest.mark.parametrize('name', [n for n in NAMES if _has_batch_norm(n)])
def test_batch_norm_follows_update_batch_norm_not_the_mode(name):
  """AlgoPerf v0.6: running statistics exactly when update_batch_norm is false, whatever
  the mode; use_running_average_bn overrides; the mode only switches dropout."""
  w = registry.get(name)
  params, state = w.init_model_fn(jax.random.PRNGKey(0))
  # Statistics far from the batch's, so that using one or the other shows in the outputs.
  state = jax.tree.map(lambda s: s + 3.0, state)
  batch = jax.tree.map(jnp.asarray, w.synthetic_batch(2))
  rng = jax.random.PRNGKey(1)

  def run(mode, update, override=None):
    out, new_state = w.model_fn(params, batch, state, mode, rng, update_batch_norm=update,
                                dropout_rate=0.0, use_running_average_bn=override)
    return np.concatenate([np.asarray(x, np.float32).ravel() for x in jax.tree.leaves(out)]), \
        new_state

  # Within each mode (train-time noise such as SpecAugment is the same with the same key):
  # update_batch_norm=False normalises as use_running_average_bn=True does, and True as
  # use_running_average_bn=False does, and the two differ.
  for mode in spec.ForwardPassMode:
    running, running_state = run(mode, False)
    batch_stats, updated = run(mode, True)
    np.testing.assert_allclose(run(mode, True, override=True)[0], running, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run(mode, False, override=False)[0], batch_stats, rtol=1e-5,
                               atol=1e-5)
    assert not np.allclose(batch_stats, running, rtol=1e-3, atol=1e-3), mode
    jax.tree.map(np.testing.assert_array_equal, running_state, state)
    moved = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), updated, state)
    assert any(jax.tree.leaves(moved)), f'{mode}: update_batch_norm=True kept the statistics'

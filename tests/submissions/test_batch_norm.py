"""Batch-norm statistics recomputed for averaged weights, against the per-batch mean and
variance computed by hand; and the prepare_for_eval wrapper."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from avgperf import spec
from submissions import averagers
from submissions.common.optax_submission import OptaxSubmission


class _Net(nn.Module):
  @nn.compact
  def __call__(self, x, train):
    x = nn.Dense(3)(x)
    x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
    return nn.Dense(2)(x)


class _BnWorkload:
  """Just what recompute_batch_stats and the wrapper touch: model_fn, input_iterator, name."""

  name = 'bn_toy'

  def __init__(self):
    self.net = _Net()
    rng = np.random.default_rng(0)
    self.data = rng.normal(size=(40, 4)).astype(np.float32) * 2 + 1

  def init(self):
    v = self.net.init(jax.random.PRNGKey(0), jnp.zeros((1, 4)), train=False)
    return v['params'], {'batch_stats': v['batch_stats'], 'steps': jnp.array(7, jnp.int32)}

  def model_fn(self, params, batch, model_state, mode, rng, update_batch_norm, dropout_rate=None,
               use_running_average_bn=None):
    running = spec.uses_running_average(update_batch_norm, use_running_average_bn)
    out, new = self.net.apply({'params': params, 'batch_stats': model_state['batch_stats']},
                              batch['inputs'], train=not running, mutable=['batch_stats'])
    return out, {'batch_stats': new['batch_stats'], 'steps': model_state['steps']}

  def input_iterator(self, split, rng, batch_size, data_dir=None, start_step=0):
    for i in range(0, len(self.data), batch_size):
      yield {'inputs': self.data[i:i + batch_size]}


def test_recomputed_statistics_are_the_mean_of_per_batch_statistics():
  w = _BnWorkload()
  params, state = w.init()
  params = jax.tree.map(lambda p: p + 0.3, params)  # some other (averaged) weights
  batches = list(w.input_iterator('train', None, 10))
  new = averagers.recompute_batch_stats(w, params, state, batches)
  kernel, bias = params['Dense_0']['kernel'], params['Dense_0']['bias']
  pre = [np.asarray(b['inputs'], np.float64) @ np.asarray(kernel) + np.asarray(bias) for b in batches]
  means = np.mean([h.mean(axis=0) for h in pre], axis=0)
  variances = np.mean([h.var(axis=0) for h in pre], axis=0)
  stats = new['batch_stats']['BatchNorm_0']
  np.testing.assert_allclose(stats['mean'], means, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(stats['var'], variances, rtol=1e-5, atol=1e-5)
  assert int(new['steps']) == 7  # not a statistic: kept


def test_optax_submission_recomputes_for_the_evaluated_params_and_every_average():
  w = _BnWorkload()
  params, state = w.init()
  averaged = jax.tree.map(lambda p: p - 0.5, params)
  other = jax.tree.map(lambda p: p * 2.0, params)
  identity = optax.identity()

  def make_tx(workload, hyperparameters):
    return averagers.AveragedTransformation(
        identity.init, lambda u, s, p=None, **_: identity.update(u, s, p),
        eval_params=lambda s, p: averaged, averages=lambda s, p: {'other': other})

  sub = OptaxSubmission(make_tx=make_tx, batch_size=lambda name: 20, recompute_batch_stats=2)
  opt_state = sub.init_optimizer_state(w, params, state, 'h', None)
  _, eval_params, eval_state = sub.prepare_for_eval(w, params, None, state, 'h', None,
                                                    opt_state, [], 0, jax.random.PRNGKey(0))
  batches = list(w.input_iterator('train', None, 20))[:2]
  assert eval_params is averaged
  jax.tree.map(np.testing.assert_allclose, eval_state,
               averagers.recompute_batch_stats(w, averaged, state, batches))
  ((name, (avg_params, avg_state)),) = sub.averaged_params(w, params, state, opt_state, 'h',
                                                          0).items()
  assert name == 'other' and avg_params is other
  jax.tree.map(np.testing.assert_allclose, avg_state,
               averagers.recompute_batch_stats(w, other, state, batches))
  # The training state is untouched.
  assert float(state['batch_stats']['BatchNorm_0']['var'][0]) == 1.0


def test_schedule_free_bn_recomputes_the_statistics_at_x():
  """schedule_free_adamw_bn's option: the eval sees x with statistics recomputed at x (not
  at y, where training collected them)."""
  from avgperf import tuning
  from configs.submissions import default_point
  from submissions import schedule_free_adamw, schedule_free_adamw_bn

  w = _BnWorkload()
  w.step_hint = 100
  params, state = w.init()
  h = tuning.make_hyperparameters(default_point('schedule_free_adamw_bn'))
  sub = OptaxSubmission(make_tx=schedule_free_adamw.make_tx, batch_size=lambda name: 4,
                        recompute_batch_stats=schedule_free_adamw_bn.BATCH_STATS_BATCHES)
  assert schedule_free_adamw_bn.SUBMISSION.recompute_batch_stats == 50
  opt_state = sub.init_optimizer_state(w, params, state, h, None)
  batch = {'inputs': w.data[:8], 'targets': np.zeros(8, np.int32)}
  w.loss_fn = lambda targets, logits, weights, smoothing: {
      'summed': jnp.sum(logits ** 2), 'n_valid_examples': jnp.asarray(logits.shape[0])}
  for step in range(5):
    opt_state, params, state = sub.update_params(w, params, None, state, h, batch, None,
                                                 opt_state, [], step, jax.random.PRNGKey(step))
  _, x, eval_state = sub.prepare_for_eval(w, params, None, state, h, None, opt_state, [], 5,
                                          jax.random.PRNGKey(0))
  tx = schedule_free_adamw.make_tx(w, h)
  jax.tree.map(np.testing.assert_allclose, x, tx.eval_params(opt_state, params))
  batches = list(w.input_iterator('train', None, 4))  # 10 batches: all of them, under 50
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), eval_state,
               averagers.recompute_batch_stats(w, x, state, batches))
  at_y = averagers.recompute_batch_stats(w, params, state, batches)
  assert not np.allclose(eval_state['batch_stats']['BatchNorm_0']['mean'],
                         at_y['batch_stats']['BatchNorm_0']['mean'])

"""criteo1tb: DLRM-small on the Criteo 1TB click logs, scored by the validation BCE loss
(spec §8).

The embedding table (4,194,304 x 128 float32, 2.1 GB) is split by rows over the devices,
where AlgoPerf replicates it on every one: `param_partition_specs` tells the runner so,
`init_model_fn` creates it split, and the lookup runs where the rows live
(embedding.row_sharded_lookup). The other params are replicated, the batch is split.
"""

from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from avgperf import sharding
from avgperf import spec
from workloads.common import data_check
from workloads.common.facts import from_configs
from workloads.criteo1tb import embedding
from workloads.criteo1tb.model import DlrmSmall
from workloads.criteo1tb.parsing import NUM_CATEGORICAL, NUM_DENSE


def sigmoid_binary_cross_entropy(label_batch, logits_batch,
                                 mask_batch=None) -> spec.LossFnOutput:
  """Per example -[y log sigmoid(z) + (1 - y) log sigmoid(-z)]; masked examples count 0."""
  batch_size = label_batch.shape[0]
  labels = jnp.reshape(label_batch, (batch_size,))
  logits = jnp.reshape(logits_batch, (batch_size,))
  per_example = -(labels * jax.nn.log_sigmoid(logits)
                  + (1.0 - labels) * jax.nn.log_sigmoid(-logits))
  if mask_batch is None:
    mask_batch = jnp.ones_like(per_example)
  mask_batch = jnp.reshape(mask_batch, (batch_size,))
  per_example = per_example * mask_batch
  return {'summed': per_example.sum(), 'n_valid_examples': mask_batch.sum(),
          'per_example': per_example}


class DlrmWorkload(spec.Workload):
  """DLRM-small's model, loss and metric; shared by the full-size workload and its sibling.

  The metric `loss` is the mean BCE over the split. Each batch's sum is taken on the device
  (float32) and stays there; at the end of the split the sums come to the host in one
  transfer and are added in float64, as AlgoPerf adds them (Criteo's validation split is
  636 batches).
  """

  target_metric_name = 'loss'
  target_metric_mode = 'min'
  loss_type = spec.LossType.SIGMOID_CROSS_ENTROPY
  vocab_size = 32 * 128 * 1024
  embed_dim = 128
  mlp_bottom_dims = (512, 256, 128)
  mlp_top_dims = (1024, 1024, 512, 256, 1)
  embedding_init_multiplier: float | None = None

  def __init__(self):
    mesh = sharding.get_mesh()
    self._model = DlrmSmall(
        vocab_size=self.vocab_size, embed_dim=self.embed_dim,
        mlp_bottom_dims=self.mlp_bottom_dims, mlp_top_dims=self.mlp_top_dims,
        embedding_init_multiplier=self.embedding_init_multiplier,
        lookup=embedding.row_sharded_lookup(mesh, sharding.BATCH_AXIS))

  def synthetic_batch(self, batch_size, seed=0):
    """Log-transformed counts and hashed ids as the pipeline makes them, random clicks."""
    rng = np.random.default_rng(seed)
    dense = np.log1p(rng.integers(0, 1_000, (batch_size, NUM_DENSE)))
    ids = rng.integers(0, self.vocab_size, (batch_size, NUM_CATEGORICAL))
    return {'inputs': np.concatenate([dense, ids], axis=1).astype(np.float32),
            'targets': rng.integers(0, 2, batch_size).astype(np.float32),
            'weights': np.ones(batch_size, np.float32)}

  def param_partition_specs(self):
    """The embedding table split by rows over the devices; everything else replicated."""
    table = embedding.table_partition_spec(self.vocab_size, sharding.get_mesh(),
                                           sharding.BATCH_AXIS)
    params, _ = self.abstract_init()
    return {k: table if k == 'embedding_table' else jax.tree.map(lambda _: PartitionSpec(), v)
            for k, v in params.items()}

  def _init(self, rng):
    dummy = jnp.ones((2, NUM_DENSE + NUM_CATEGORICAL), jnp.float32)
    return self._model.init({'params': rng}, dummy, train=False)['params']

  def init_model_fn(self, rng):
    """The params, created where they will live (no device ever holds the whole table)."""
    mesh = sharding.get_mesh()
    placement = jax.tree.map(lambda s: NamedSharding(mesh, s), self.param_partition_specs())
    return jax.jit(self._init, out_shardings=placement)(rng), {}

  def abstract_init(self):
    return jax.eval_shape(self._init, jax.random.PRNGKey(0)), {}

  def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
               update_batch_norm, dropout_rate=None, use_running_average_bn=None):
    del update_batch_norm, use_running_average_bn  # no batch norm
    train = mode == spec.ForwardPassMode.TRAIN
    rate = 0.0 if dropout_rate is None else dropout_rate
    logits = self._model.apply({'params': params},
                               augmented_and_preprocessed_input_batch['inputs'], train=train,
                               dropout_rate=rate, rngs={'dropout': rng} if train else None)
    return logits, model_state

  def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
    del label_smoothing  # AlgoPerf's Criteo loss ignores it
    return sigmoid_binary_cross_entropy(label_batch, logits_batch, mask_batch)

  def eval_model_on_split(self, split, num_examples, params, model_state, rng, data_dir,
                          place_batch):
    if not hasattr(self, '_eval_batch_jit'):
      self._eval_batch_jit = jax.jit(self.eval_batch)
    sums = [self._eval_batch_jit(params, model_state, place_batch(batch), rng)['loss']
            for batch in self.input_iterator(split, rng, self.eval_batch_size, data_dir)]
    total = np.sum(np.asarray(jax.device_get(sums), np.float64))
    return self.finalize_metrics({'loss': total}, num_examples)

  def eval_batch(self, params, model_state, batch, rng):
    logits, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL, rng,
                              update_batch_norm=False)
    return {'loss': self.loss_fn(batch['targets'], logits, batch['weights'])['summed']}


@from_configs
class Criteo1TbWorkload(DlrmWorkload):
  """DLRM-small (539,267,457 params) on Criteo 1TB's day files.

  `data_dir` holds the days split into files of 5,000,000 lines, `day_<d>_<NN>`
  (scripts/prepare_data.py): days 0-22 train (and eval_train), day 23's files 00-18 test
  and 19-35 validation.
  """

  name = 'criteo1tb'
  dataset = 'Criteo 1TB click logs (TSV): days 0-22 train, day 23 validation and test'
  num_train_examples = 4_195_197_692
  num_validation_examples = 83_274_637
  num_test_examples = 95_000_000
  eval_batch_size = 131_072

  def check_data(self, data_dir):
    data_check.require(self.name, data_dir, ('day_0_00', 'day_23_00', 'day_23_35'),
                       'criteo1tb --raw_dir=...', packages=('tensorflow',))

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    from workloads.criteo1tb import input_pipeline  # pylint: disable=g-import-not-at-top

    if split == 'train':
      return input_pipeline.train_iterator(data_dir, rng, global_batch_size, start_step)
    return input_pipeline.eval_iterator(data_dir, split, global_batch_size,
                                        self.split_sizes()[split])

"""The full-size models have the spec's parameter counts, to the parameter (spec §3.2, §4.2,
§9.2, §10.2), computed with jax.eval_shape so that no weights are allocated."""

import math

import jax
import pytest

from workloads import registry


def _count(tree) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(tree))


@pytest.mark.parametrize('name, params, state', [
    ('imagenet_resnet', 25_557_032, 53_120),
    ('imagenet_vit', 22_122_472, 0),
    ('fastmri', 7_756_097, 0),
    ('finewebedu_lm', 252_815_372, 0),
])
def test_parameter_counts(name, params, state):
  workload = registry.get(name)
  abstract_params, abstract_state = workload.abstract_init()
  assert _count(abstract_params) == params
  assert _count(abstract_state) == state


def test_resnet_tree_layout():
  params, stats = registry.get('imagenet_resnet').abstract_init()
  assert _count(params['Conv_init']) == 9_408
  assert _count(params['Dense_0']) == 2_049_000
  sizes = [_count(params[f'BottleneckResNetBlock_{i}']) for i in range(16)]
  assert sizes == ([75_008, 70_400, 70_400, 379_392, 280_064, 280_064, 280_064, 1_512_448]
                   + [1_117_184] * 5 + [6_039_552, 4_462_592, 4_462_592])
  assert 'Conv_proj' in params['BottleneckResNetBlock_3']
  assert set(stats['BatchNorm_init']) == {'mean', 'var'}


def test_vit_and_unet_tree_layout():
  params, _ = registry.get('imagenet_vit').abstract_init()
  assert {k: _count(v) for k, v in params.items()} == {
      'conv_patch_extract': 295_296, 'Transformer': 21_294_336, 'pre_logits': 147_840,
      'head': 385_000}
  assert _count(params['Transformer']['encoderblock_11']) == 1_774_464
  params, _ = registry.get('fastmri').abstract_init()
  assert _count(params['ConvBlock_4']) == 3_538_944
  assert _count(params['Conv_0']) == 33
  assert [_count(params[f'TransposeConvBlock_{i}']) for i in range(4)] == [
      524_288, 131_072, 32_768, 8_192]


def test_lm_tree_layout():
  """Spec §10.2: names and sizes of the top level and of one block (AlgoPerf's tree)."""
  params, _ = registry.get('finewebedu_lm').abstract_init()
  assert {k: _count(v) for k, v in params.items()} == {
      'embed': 51_463_168, 'out_ln': 1_024, **{f'blocks_{i}': 16_779_265 for i in range(12)}}
  assert params['embed']['embedding'].shape == (50_257, 1_024)
  block = jax.tree_util.tree_flatten_with_path(params['blocks_0'])[0]
  shapes = {jax.tree_util.keystr(p, simple=True, separator='/'): x.shape for p, x in block}
  assert shapes == {
      'CausalAttn_0/query/kernel': (1024, 8, 128), 'CausalAttn_0/key/kernel': (1024, 8, 128),
      'CausalAttn_0/value/kernel': (1024, 8, 128),
      'CausalAttn_0/attn_out_proj/kernel': (1024, 1024), 'CausalAttn_0/attn_scale': (),
      'Mlp_0/Dense_0/kernel': (1024, 8192),
      'Mlp_0/Dense_1/kernel': (4096, 1024), 'RMSNorm_0/scale': (1024,), 'RMSNorm_1/scale': (1024,)}

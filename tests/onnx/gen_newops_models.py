#!/usr/bin/python3
"""tests/onnx/gen_newops_models.py OUTDIR - write small single-node models of
the opset-23 ops (Attention, RMSNormalization, RotaryEmbedding) and of the
ai.onnx.ml ops, in the forms the real fixtures do not cover, for
onnx_ort_compare to run in ckpt and in ONNX Runtime (the reference: the
expected outputs are ORT's, never written here).

Graph inputs are synthesised by onnx_ort_compare (floats uniform in [-1, 1),
integers 0, booleans false), so values that must be chosen (masks, position
ids, caches, indices) are initializers.  python3-onnx 1.12 predates opset 23:
the models are built with its helper and not checked by its checker.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

F, F16, D, I64, B, S = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE,
                        TensorProto.INT64, TensorProto.BOOL, TensorProto.STRING)
ML = 'ai.onnx.ml'
rng = np.random.default_rng(11)


def vi(name, dt, shape):
    return helper.make_tensor_value_info(name, dt, shape)


def model(out_dir, name, node, inputs, outputs, inits=(), opsets=(('', 23),), ir=10):
    g = helper.make_graph([node], name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                          producer_name='ckpt-gen-newops')
    m.ir_version = ir
    save(m, os.path.join(out_dir, name + '.onnx'))


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def attention(out_dir):
    # 3-D inputs, grouped-query heads (4 q heads over 2 kv heads)
    model(out_dir, 'attention_3d_gqa',
          helper.make_node('Attention', ['Q', 'K', 'V'], ['Y'], q_num_heads=4, kv_num_heads=2),
          [vi('Q', F, [2, 3, 32]), vi('K', F, [2, 5, 16]), vi('V', F, [2, 5, 24])],
          [vi('Y', F, None)])
    # 4-D, explicit scale, v head size != qk head size
    model(out_dir, 'attention_4d_scale_vdim',
          helper.make_node('Attention', ['Q', 'K', 'V'], ['Y'], scale=0.3),
          [vi('Q', F, [1, 2, 4, 8]), vi('K', F, [1, 2, 6, 8]), vi('V', F, [1, 2, 6, 5])],
          [vi('Y', F, None)])
    # causal with T < S
    model(out_dir, 'attention_causal',
          helper.make_node('Attention', ['Q', 'K', 'V'], ['Y'], is_causal=1),
          [vi('Q', F, [2, 2, 3, 8]), vi('K', F, [2, 2, 5, 8]), vi('V', F, [2, 2, 5, 8])],
          [vi('Y', F, None)])
    # causal with a past: present_key / present_value outputs
    model(out_dir, 'attention_causal_past',
          helper.make_node('Attention', ['Q', 'K', 'V', '', 'pk', 'pv'], ['Y', 'PK', 'PV'],
                           is_causal=1),
          [vi('Q', F, [1, 2, 3, 4]), vi('K', F, [1, 2, 3, 4]), vi('V', F, [1, 2, 3, 4]),
           vi('pk', F, [1, 2, 2, 4]), vi('pv', F, [1, 2, 2, 4])],
          [vi('Y', F, None), vi('PK', F, None), vi('PV', F, None)])
    # 3-D with a past and GQA
    model(out_dir, 'attention_3d_past_gqa',
          helper.make_node('Attention', ['Q', 'K', 'V', '', 'pk', 'pv'], ['Y', 'PK', 'PV'],
                           q_num_heads=6, kv_num_heads=2),
          [vi('Q', F, [2, 2, 24]), vi('K', F, [2, 2, 8]), vi('V', F, [2, 2, 8]),
           vi('pk', F, [2, 2, 3, 4]), vi('pv', F, [2, 2, 3, 4])],
          [vi('Y', F, None), vi('PK', F, None), vi('PV', F, None)])
    # boolean mask (T, S) broadcast over batch and heads
    mask = rng.random((4, 6)) < 0.7
    mask[:, 0] = True
    model(out_dir, 'attention_bool_mask',
          helper.make_node('Attention', ['Q', 'K', 'V', 'M'], ['Y']),
          [vi('Q', F, [2, 3, 4, 8]), vi('K', F, [2, 3, 6, 8]), vi('V', F, [2, 3, 6, 8])],
          [vi('Y', F, None)], [init('M', mask)])
    # float mask (B, 1, T, S) as a graph input
    model(out_dir, 'attention_float_mask',
          helper.make_node('Attention', ['Q', 'K', 'V', 'M'], ['Y']),
          [vi('Q', F, [2, 3, 4, 8]), vi('K', F, [2, 3, 6, 8]), vi('V', F, [2, 3, 6, 8]),
           vi('M', F, [2, 1, 4, 6])],
          [vi('Y', F, None)])
    # float mask + causal + past
    model(out_dir, 'attention_mask_causal_past',
          helper.make_node('Attention', ['Q', 'K', 'V', 'M', 'pk', 'pv'], ['Y', 'PK', 'PV'],
                           is_causal=1),
          [vi('Q', F, [1, 2, 3, 4]), vi('K', F, [1, 2, 3, 4]), vi('V', F, [1, 2, 3, 4]),
           vi('M', F, [3, 5]), vi('pk', F, [1, 2, 2, 4]), vi('pv', F, [1, 2, 2, 4])],
          [vi('Y', F, None), vi('PK', F, None), vi('PV', F, None)])
    # softcap
    model(out_dir, 'attention_softcap',
          helper.make_node('Attention', ['Q', 'K', 'V'], ['Y'], softcap=0.5, scale=2.0),
          [vi('Q', F, [1, 2, 4, 8]), vi('K', F, [1, 2, 6, 8]), vi('V', F, [1, 2, 6, 8])],
          [vi('Y', F, None)])
    # the QK matmul output in each mode, with a mask and a softcap
    for mode in range(4):
        model(out_dir, 'attention_qk_mode%d' % mode,
              helper.make_node('Attention', ['Q', 'K', 'V', 'M'], ['Y', '', '', 'QK'],
                               qk_matmul_output_mode=mode, softcap=3.0),
              [vi('Q', F, [1, 2, 4, 8]), vi('K', F, [1, 2, 6, 8]), vi('V', F, [1, 2, 6, 8]),
               vi('M', F, [4, 6])],
              [vi('Y', F, None), vi('QK', F, None)])
    # 4-D grouped heads, a rank-3 bool mask, a past, every output
    m3 = rng.random((4, 3, 7)) < 0.6  # (q heads, T, past + S)
    m3[..., 0] = True
    model(out_dir, 'attention_4d_gqa_mask3_all_outputs',
          helper.make_node('Attention', ['Q', 'K', 'V', 'M', 'pk', 'pv'], ['Y', 'PK', 'PV', 'QK'],
                           qk_matmul_output_mode=1),
          [vi('Q', F, [2, 4, 3, 8]), vi('K', F, [2, 2, 4, 8]), vi('V', F, [2, 2, 4, 6]),
           vi('pk', F, [2, 2, 3, 8]), vi('pv', F, [2, 2, 3, 6])],
          [vi('Y', F, None), vi('PK', F, None), vi('PV', F, None), vi('QK', F, None)],
          [init('M', m3)])
    # 3-D causal, one query row (decoding) over a past
    model(out_dir, 'attention_3d_decode_causal',
          helper.make_node('Attention', ['Q', 'K', 'V', '', 'pk', 'pv'], ['Y', 'PK', 'PV'],
                           q_num_heads=2, kv_num_heads=2, is_causal=1),
          [vi('Q', F, [1, 1, 16]), vi('K', F, [1, 1, 16]), vi('V', F, [1, 1, 16]),
           vi('pk', F, [1, 2, 4, 8]), vi('pv', F, [1, 2, 4, 8])],
          [vi('Y', F, None), vi('PK', F, None), vi('PV', F, None)])
    # opset 24: nonpad_kv_seqlen
    model(out_dir, 'attention_nonpad_kv_seqlen',
          helper.make_node('Attention', ['Q', 'K', 'V', 'M', '', '', 'NP'], ['Y']),
          [vi('Q', F, [2, 2, 3, 4]), vi('K', F, [2, 2, 5, 4]), vi('V', F, [2, 2, 5, 4]),
           vi('M', F, [3, 5])], [vi('Y', F, None)],
          [init('NP', np.array([3, 5], dtype=np.int64))], opsets=(('', 24),))
    # float16
    model(out_dir, 'attention_fp16',
          helper.make_node('Attention', ['Q', 'K', 'V'], ['Y'], is_causal=1),
          [vi('Q', F16, [1, 2, 4, 8]), vi('K', F16, [1, 2, 4, 8]), vi('V', F16, [1, 2, 4, 8])],
          [vi('Y', F16, None)])


def rms_rotary(out_dir):
    model(out_dir, 'rms_norm_3d_last',
          helper.make_node('RMSNormalization', ['X', 'W'], ['Y'], epsilon=1e-3),
          [vi('X', F, [2, 3, 5]), vi('W', F, [5])], [vi('Y', F, None)])
    model(out_dir, 'rms_norm_axis1_bcast',
          helper.make_node('RMSNormalization', ['X', 'W'], ['Y'], axis=1),
          [vi('X', F, [2, 3, 4, 5]), vi('W', F, [1, 5])], [vi('Y', F, None)])
    model(out_dir, 'rms_norm_fp16',
          helper.make_node('RMSNormalization', ['X', 'W'], ['Y']),
          [vi('X', F16, [4, 6]), vi('W', F16, [6])], [vi('Y', F16, None)])
    model(out_dir, 'rms_norm_double',
          helper.make_node('RMSNormalization', ['X', 'W'], ['Y'], axis=-2),
          [vi('X', D, [3, 4, 2]), vi('W', D, [4, 2])], [vi('Y', D, None)])
    pos = init('P', np.array([[0, 3, 7], [5, 1, 2]], dtype=np.int64))
    ang = np.arange(10)[:, None] * (1.0 / 10000 ** (np.arange(4) / 4.0))[None, :]
    cos, sin = init('C', np.cos(ang).astype(np.float32)), init('S', np.sin(ang).astype(np.float32))
    model(out_dir, 'rotary_interleaved',
          helper.make_node('RotaryEmbedding', ['X', 'C', 'S', 'P'], ['Y'], interleaved=1),
          [vi('X', F, [2, 2, 3, 8])], [vi('Y', F, None)], [cos, sin, pos])
    model(out_dir, 'rotary_3d_num_heads',
          helper.make_node('RotaryEmbedding', ['X', 'C', 'S', 'P'], ['Y'], num_heads=3),
          [vi('X', F, [2, 3, 24])], [vi('Y', F, None)], [cos, sin, pos])
    ang2 = np.arange(10)[:, None] * (1.0 / 10000 ** (np.arange(2) / 2.0))[None, :]
    model(out_dir, 'rotary_partial_dim',
          helper.make_node('RotaryEmbedding', ['X', 'C', 'S', 'P'], ['Y'],
                           rotary_embedding_dim=4),
          [vi('X', F, [2, 2, 3, 8])], [vi('Y', F, None)],
          [init('C', np.cos(ang2).astype(np.float32)), init('S', np.sin(ang2).astype(np.float32)),
           pos])
    model(out_dir, 'rotary_no_position_ids',
          helper.make_node('RotaryEmbedding', ['X', 'C', 'S'], ['Y'], interleaved=1),
          [vi('X', F, [2, 2, 3, 8]), vi('C', F, [2, 3, 4]), vi('S', F, [2, 3, 4])],
          [vi('Y', F, None)])


def tree5(name, out_dir, n_targets, agg, pt, modes, splits, feats, truen, truel, falsen, falsel,
          roots, leaf_t, leaf_w, members=None, xshape=(5, 3), dt=F, miss=None):
    np_dt = np.float64 if dt == D else np.float32
    attrs = dict(n_targets=n_targets, aggregate_function=agg, post_transform=pt,
                 nodes_modes=init('nodes_modes', np.array(modes, dtype=np.uint8)),
                 nodes_splits=init('nodes_splits', np.array(splits, dtype=np_dt)),
                 nodes_featureids=feats, nodes_truenodeids=truen, nodes_trueleafs=truel,
                 nodes_falsenodeids=falsen, nodes_falseleafs=falsel, tree_roots=roots,
                 leaf_targetids=leaf_t, leaf_weights=init('leaf_weights', np.array(leaf_w, dtype=np_dt)))
    if members is not None:
        attrs['membership_values'] = init('membership_values', np.array(members, dtype=np_dt))
    if miss is not None:
        attrs['nodes_missing_value_tracks_true'] = miss
    model(out_dir, name, helper.make_node('TreeEnsemble', ['X'], ['Y'], domain=ML, **attrs),
          [vi('X', dt, list(xshape))], [vi('Y', dt, None)], opsets=(('', 21), (ML, 5)))


def ml(out_dir):
    ops = (('', 21), (ML, 5))
    model(out_dir, 'ml_binarizer_negative',
          helper.make_node('Binarizer', ['X'], ['Y'], domain=ML, threshold=-0.25),
          [vi('X', F, [3, 4])], [vi('Y', F, None)], opsets=ops)
    for norm in ('MAX', 'L1', 'L2'):
        model(out_dir, 'ml_normalizer_' + norm.lower(),
              helper.make_node('Normalizer', ['X'], ['Y'], domain=ML, norm=norm),
              [vi('X', F, [4, 5])], [vi('Y', F, None)], opsets=ops)
    model(out_dir, 'ml_scaler',
          helper.make_node('Scaler', ['X'], ['Y'], domain=ML, offset=[0.5, -1.0, 0.0],
                           scale=[2.0, 0.5, -3.0]),
          [vi('X', F, [4, 3])], [vi('Y', F, None)], opsets=ops)
    model(out_dir, 'ml_scaler_double_1',
          helper.make_node('Scaler', ['X'], ['Y'], domain=ML, offset=[0.25], scale=[4.0]),
          [vi('X', D, [2, 5])], [vi('Y', F, None)], opsets=ops)
    model(out_dir, 'ml_array_feature_extractor',
          helper.make_node('ArrayFeatureExtractor', ['X', 'I'], ['Y'], domain=ML),
          [vi('X', F, [2, 3, 5])], [vi('Y', F, None)],
          [init('I', np.array([4, 0, 2, 2], dtype=np.int64))], opsets=ops)
    model(out_dir, 'ml_array_feature_extractor_1d',
          helper.make_node('ArrayFeatureExtractor', ['X', 'I'], ['Y'], domain=ML),
          [vi('X', F, [6])], [vi('Y', F, None)],
          [init('I', np.array([5, 1], dtype=np.int64))], opsets=ops)
    model(out_dir, 'ml_imputer',
          helper.make_node('Imputer', ['X'], ['Y'], domain=ML, imputed_value_floats=[9.0],
                           replaced_value_float=0.0),
          [vi('X', F, [3, 4]), ], [vi('Y', F, None)], opsets=ops)
    model(out_dir, 'ml_linear_regressor',
          helper.make_node('LinearRegressor', ['X'], ['Y'], domain=ML, targets=2,
                           coefficients=list(rng.standard_normal(8).astype(float)),
                           intercepts=[0.5, -0.25]),
          [vi('X', F, [3, 4])], [vi('Y', F, None)], opsets=ops)
    model(out_dir, 'ml_linear_regressor_logistic',
          helper.make_node('LinearRegressor', ['X'], ['Y'], domain=ML, targets=3,
                           coefficients=list(rng.standard_normal(9).astype(float)),
                           post_transform='SOFTMAX'),
          [vi('X', F, [2, 3])], [vi('Y', F, None)], opsets=ops)
    # LabelEncoder: numeric keys; the synthesised input is 0, so 0 is a key in one
    # model and missing (the default) in the other
    model(out_dir, 'ml_label_encoder_int_float',
          helper.make_node('LabelEncoder', ['X'], ['Y'], domain=ML, keys_int64s=[3, 0, -7],
                           values_floats=[1.5, -2.5, 8.0], default_float=4.0),
          [vi('X', I64, [2, 3])], [vi('Y', F, None)], opsets=(('', 21), (ML, 2)))
    model(out_dir, 'ml_label_encoder_int_default',
          helper.make_node('LabelEncoder', ['X'], ['Y'], domain=ML, keys_int64s=[3, 1],
                           values_int64s=[10, 11], default_int64=-5),
          [vi('X', I64, [4])], [vi('Y', I64, None)], opsets=(('', 21), (ML, 2)))
    model(out_dir, 'ml_label_encoder_tensor_keys',
          helper.make_node('LabelEncoder', ['X'], ['Y'], domain=ML,
                           keys_tensor=init('kt', np.array([2, 0, 5], dtype=np.int64)),
                           values_tensor=init('vt', np.array([0.5, 1.25, 2.0], dtype=np.float32)),
                           default_tensor=init('dt', np.array([-1.0], dtype=np.float32))),
          [vi('X', I64, [3])], [vi('Y', F, None)], opsets=(('', 21), (ML, 4)))
    # string keys / values (onnx_ort_compare draws strings from a fixed pool
    # holding 'a', 'b', 'c', 'd', '', 'Amy', 'monday', 'x y')
    model(out_dir, 'ml_label_encoder_string_string',
          helper.make_node('LabelEncoder', ['X'], ['Y'], domain=ML, keys_strings=['a', 'Amy', ''],
                           values_strings=['A', 'amy', 'empty'], default_string='?'),
          [vi('X', S, [3, 4])], [vi('Y', S, None)], opsets=(('', 21), (ML, 2)))
    model(out_dir, 'ml_label_encoder_string_float',
          helper.make_node('LabelEncoder', ['X'], ['Y'], domain=ML, keys_strings=['b', 'x y'],
                           values_floats=[2.5, -1.0]),
          [vi('X', S, [6])], [vi('Y', F, None)], opsets=(('', 21), (ML, 2)))
    model(out_dir, 'ml_label_encoder_int_string',
          helper.make_node('LabelEncoder', ['X'], ['Y'], domain=ML, keys_int64s=[0, 4],
                           values_strings=['zero', 'four']),
          [vi('X', I64, [2, 2])], [vi('Y', S, None)], opsets=(('', 21), (ML, 2)))
    keys = [int(k) for k in rng.permutation(np.arange(-30, 30))]
    model(out_dir, 'ml_label_encoder_many_int_keys',
          helper.make_node('LabelEncoder', ['X'], ['Y'], domain=ML, keys_int64s=keys,
                           values_int64s=[3 * k + 1 for k in keys]),
          [vi('X', I64, [3])], [vi('Y', I64, None)], opsets=(('', 21), (ML, 2)))
    words = ['w%d' % i for i in range(25)] + ['a', 'd', 'monday', 'x y', '']
    order = [int(i) for i in rng.permutation(len(words))]
    model(out_dir, 'ml_label_encoder_many_string_keys',
          helper.make_node('LabelEncoder', ['X'], ['Y'], domain=ML,
                           keys_strings=[words[i] for i in order], values_int64s=order),
          [vi('X', S, [4, 5])], [vi('Y', I64, None)], opsets=(('', 21), (ML, 2)))
    model(out_dir, 'ml_label_encoder_v1_string_int',
          helper.make_node('LabelEncoder', ['X'], ['Y'], domain=ML,
                           classes_strings=['c', 'monday', 'a'], default_int64=-9),
          [vi('X', S, [5])], [vi('Y', I64, None)], opsets=(('', 13), (ML, 1)))
    model(out_dir, 'ml_array_feature_extractor_string',
          helper.make_node('ArrayFeatureExtractor', ['X', 'I'], ['Y'], domain=ML),
          [vi('X', S, [3, 4])], [vi('Y', S, None)],
          [init('I', np.array([3, 1], dtype=np.int64))], opsets=ops)
    model(out_dir, 'ml_one_hot_int',
          helper.make_node('OneHotEncoder', ['X'], ['Y'], domain=ML, cats_int64s=[3, 0, 5]),
          [vi('X', I64, [2, 3])], [vi('Y', F, None)], opsets=ops)
    model(out_dir, 'ml_one_hot_float',
          helper.make_node('OneHotEncoder', ['X'], ['Y'], domain=ML, cats_int64s=[1, 0, -1]),
          [vi('X', D, [4])], [vi('Y', F, None)], opsets=ops)
    model(out_dir, 'ml_one_hot_string',
          helper.make_node('OneHotEncoder', ['X'], ['Y'], domain=ML,
                           cats_strings=['a', 'b', 'Amy', 'zz']),
          [vi('X', S, [3, 2])], [vi('Y', F, None)], opsets=ops)
    model(out_dir, 'ml_feature_vectorizer',
          helper.make_node('FeatureVectorizer', ['A', 'B', 'C'], ['Y'], domain=ML,
                           inputdimensions=[3, 4, 1]),
          [vi('A', F, [2, 3]), vi('B', F, [2, 2]), vi('C', F, [2, 3])], [vi('Y', F, None)],
          opsets=ops)
    # TreeEnsemble (5): two trees, every comparison mode, each aggregate and transform
    modes = [0, 1, 2, 3, 5, 6, 0]
    splits = [0.0, -0.3, 0.2, 0.5, 0.0, 0.0, 0.4]
    feats = [0, 1, 2, 0, 1, 2, 1]
    # tree 0: nodes 0..4, tree 1: nodes 5..6
    truen = [1, 0, 3, 1, 2, 6, 3]
    truel = [0, 1, 0, 1, 1, 0, 1]
    falsen = [2, 1, 4, 2, 3, 4, 5]
    falsel = [0, 1, 0, 1, 1, 1, 1]
    leaf_t = [0, 1, 0, 1, 2, 0, 2]
    leaf_w = [1.0, 2.0, -3.0, 0.5, 4.0, 0.25, -1.5]
    members = [0.0, 1.0, float('nan')]
    for agg in range(4):
        for pt in (0, 1, 2):
            tree5('ml_tree_ensemble_agg%d_pt%d' % (agg, pt), out_dir, 3, agg, pt, modes, splits,
                  feats, truen, truel, falsen, falsel, [0, 5], leaf_t, leaf_w, members)
    tree5('ml_tree_ensemble_double_softmax_zero', out_dir, 3, 1, 3, modes, splits, feats, truen,
          truel, falsen, falsel, [0, 5], leaf_t, leaf_w, members, dt=D)
    # TreeEnsembleRegressor (ai.onnx.ml 3)
    reg = dict(nodes_treeids=[0, 0, 0, 0, 0, 1, 1, 1],
               nodes_nodeids=[0, 1, 2, 3, 4, 0, 1, 2],
               nodes_featureids=[0, 1, 0, 0, 0, 2, 0, 0],
               nodes_modes=['BRANCH_LEQ', 'BRANCH_GT', 'LEAF', 'LEAF', 'LEAF', 'BRANCH_LT',
                            'LEAF', 'LEAF'],
               nodes_values=[0.1, -0.2, 0, 0, 0, 0.3, 0, 0],
               nodes_truenodeids=[1, 3, 0, 0, 0, 1, 0, 0],
               nodes_falsenodeids=[2, 4, 0, 0, 0, 2, 0, 0],
               target_treeids=[0, 0, 0, 0, 1, 1, 1],
               target_nodeids=[2, 3, 3, 4, 1, 2, 2],
               target_ids=[0, 0, 1, 1, 0, 0, 1],
               target_weights=[1.0, 2.0, -1.0, 0.5, 3.0, -2.0, 0.75],
               n_targets=2)
    for agg, pt, base in (('SUM', 'NONE', None), ('AVERAGE', 'NONE', [0.5, -0.5]),
                          ('MIN', 'NONE', None), ('MAX', 'LOGISTIC', None),
                          ('SUM', 'SOFTMAX', [1.0, 0.0])):
        a = dict(reg, aggregate_function=agg, post_transform=pt)
        if base:
            a['base_values'] = base
        model(out_dir, 'ml_tree_regressor_%s_%s' % (agg.lower(), pt.lower()),
              helper.make_node('TreeEnsembleRegressor', ['X'], ['Y'], domain=ML, **a),
              [vi('X', F, [6, 3])], [vi('Y', F, None)], opsets=(('', 17), (ML, 3)))


def classifiers(out_dir):
    """TreeEnsembleClassifier (ai.onnx.ml 3): two trees; multi-class, two
    classes, ORT's binary case (one class id voted), string labels."""
    nodes = dict(nodes_treeids=[0, 0, 0, 0, 0, 1, 1, 1],
                 nodes_nodeids=[0, 1, 2, 3, 4, 0, 1, 2],
                 nodes_featureids=[0, 1, 0, 0, 0, 2, 0, 0],
                 nodes_modes=['BRANCH_LEQ', 'BRANCH_GT', 'LEAF', 'LEAF', 'LEAF', 'BRANCH_LT',
                              'LEAF', 'LEAF'],
                 nodes_values=[0.1, -0.2, 0, 0, 0, 0.3, 0, 0],
                 nodes_truenodeids=[1, 3, 0, 0, 0, 1, 0, 0],
                 nodes_falsenodeids=[2, 4, 0, 0, 0, 2, 0, 0])
    tree_n = [0, 0, 0, 0, 1, 1, 1]
    node_n = [2, 3, 3, 4, 1, 2, 2]
    cases = [
        ('multi', [0, 0, 1, 2, 2, 0, 1], [1.0, 2.0, 0.5, 0.5, 3.0, 0.25, 0.75],
         dict(classlabels_int64s=[7, 8, 9]), ('NONE', 'SOFTMAX', 'LOGISTIC'), None),
        ('multi_base', [0, 0, 1, 2, 2, 0, 1], [1.0, -2.0, 0.5, 0.5, 3.0, 0.25, 0.75],
         dict(classlabels_int64s=[7, 8, 9]), ('NONE',), [0.1, 0.2, -0.3]),
        ('two', [0, 0, 1, 1, 0, 0, 1], [0.2, 0.8, 0.3, 0.4, 0.1, 0.6, 0.5],
         dict(classlabels_int64s=[3, 5]), ('NONE', 'LOGISTIC'), None),
        ('binary_pos', [1] * 7, [0.2, 0.1, 0.3, 0.1, 0.1, 0.4, 0.5],
         dict(classlabels_int64s=[0, 1]), ('NONE', 'LOGISTIC'), None),
        ('binary_mixed', [1] * 7, [0.2, -0.9, 0.3, 0.1, -0.1, 0.4, -0.5],
         dict(classlabels_int64s=[4, 6]), ('NONE', 'LOGISTIC'), None),
        ('strings', [0, 0, 1, 2, 2, 0, 1], [1.0, 2.0, 0.5, 0.5, 3.0, 0.25, 0.75],
         dict(classlabels_strings=['cat', 'dog', 'eel']), ('NONE',), None),
        ('binary_strings', [1] * 7, [0.2, 0.1, 0.3, 0.1, 0.1, 0.4, 0.5],
         dict(classlabels_strings=['no', 'yes']), ('NONE',), None),
    ]
    for name, ids, w, labels, pts, base in cases:
        for pt in pts:
            a = dict(nodes, class_treeids=tree_n, class_nodeids=node_n, class_ids=ids,
                     class_weights=w, post_transform=pt, **labels)
            if base:
                a['base_values'] = base
            ydt = S if 'classlabels_strings' in labels else I64
            model(out_dir, 'ml_tree_classifier_%s_%s' % (name, pt.lower()),
                  helper.make_node('TreeEnsembleClassifier', ['X'], ['Y', 'Z'], domain=ML, **a),
                  [vi('X', F, [6, 3])], [vi('Y', ydt, None), vi('Z', F, None)],
                  opsets=(('', 17), (ML, 3)))


def linear_classifiers(out_dir):
    """LinearClassifier (ai.onnx.ml 1): three classes, and ORT's binary form
    (one coefficient row, two labels), int and string labels."""
    multi = dict(coefficients=[0.5, -1, 2, 1, 1, -0.5, -2, 0.3, 0.1], intercepts=[0.1, -0.2, 0.3])
    binary = dict(coefficients=[0.5, -1, 2], intercepts=[0.1])
    for pt in ('NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO'):
        for name, a in (('multi', dict(multi, classlabels_ints=[4, 5, 6])),
                        ('binary', dict(binary, classlabels_ints=[4, 5])),
                        ('multi_strings', dict(multi, classlabels_strings=['x', 'y', 'z'])),
                        ('binary_strings', dict(binary, classlabels_strings=['neg', 'pos']))):
            if 'strings' in name and pt not in ('NONE', 'LOGISTIC'):
                continue
            ydt = S if 'classlabels_strings' in a else I64
            model(out_dir, 'ml_linear_classifier_%s_%s' % (name, pt.lower()),
                  helper.make_node('LinearClassifier', ['X'], ['Y', 'Z'], domain=ML,
                                   post_transform=pt, **a),
                  [vi('X', F, [5, 3])], [vi('Y', ydt, None), vi('Z', F, None)],
                  opsets=(('', 17), (ML, 1)))


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    attention(out_dir)
    rms_rotary(out_dir)
    ml(out_dir)
    classifiers(out_dir)
    linear_classifiers(out_dir)


if __name__ == '__main__':
    main()

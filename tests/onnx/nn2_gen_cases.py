#!/usr/bin/python3
"""tests/onnx/nn2_gen_cases.py - conformance-style cases for the rnn, image
and signal kernel families, for what libonnx-testdata 1.12 does not cover.

Each case is a folder tests/onnx/cases/nn2/test_<name>/ with model.onnx and
test_data_set_0/{input,output}_K.pb, the layout of the ONNX backend test
data, so tests/onnx/conformance.c runs them (ctest onnx_nn2_cases).
Expected outputs come from a real reference, never typed by hand:
  - "torch": Debian torch 1.13 (nn.LSTM / nn.GRU / nn.RNN with their weights
    permuted into ONNX's gate order, F.interpolate, F.grid_sample, torch.fft,
    torch.stft, torch.*_window);
  - "ort": ONNX Runtime (npm onnxruntime-node) through nn2_gen_ort.js, for
    attributes torch has no equivalent of (peepholes, clip, activation lists,
    ragged sequence_lens, linear_before_reset = 0, NMS, RoiAlign...).

Run from the repository root:
  /usr/bin/python3 tests/onnx/nn2_gen_cases.py [--ort-modules DIR]
(DIR: the node_modules folder holding onnxruntime-node, installed with
`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`; or set
$ORT_NODE_MODULES).
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'cases', 'nn2')
NP2ONNX = {np.dtype('float32'): TensorProto.FLOAT, np.dtype('float64'): TensorProto.DOUBLE,
           np.dtype('int32'): TensorProto.INT32, np.dtype('int64'): TensorProto.INT64,
           np.dtype('float16'): TensorProto.FLOAT16, np.dtype('uint8'): TensorProto.UINT8}
ORT_CASES = []


def make_case(name, op, inputs, outputs, attrs, opset, ref, out_types=None):
    """inputs: list of (name, array or None for an omitted optional);
    outputs: list of names ('' for omitted); ref: list of arrays (torch) or 'ort'."""
    d = os.path.join(OUT, 'test_' + name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, 'test_data_set_0'))
    node = helper.make_node(op, [n if a is not None else '' for n, a in inputs], outputs, **attrs)
    g_in = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], list(a.shape))
            for n, a in inputs if a is not None]
    outs = [o for o in outputs if o]
    if ref == 'ort':
        g_out = [helper.make_tensor_value_info(o, (out_types or {}).get(o, TensorProto.FLOAT),
                                               None) for o in outs]
    else:
        g_out = [helper.make_tensor_value_info(o, NP2ONNX[r.dtype], list(r.shape))
                 for o, r in zip(outs, ref)]
    graph = helper.make_graph([node], name, g_in, g_out)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset)],
                              producer_name='nn2_gen_cases')
    model.ir_version = 8
    onnx.save(model, os.path.join(d, 'model.onnx'))
    k = 0
    manifest_inputs = []
    for n, a in inputs:
        if a is None:
            continue
        t = numpy_helper.from_array(a, n)
        with open(os.path.join(d, 'test_data_set_0', f'input_{k}.pb'), 'wb') as f:
            f.write(t.SerializeToString())
        bin_path = os.path.join(d, f'ort_in_{k}.bin')
        if ref == 'ort':
            a.tofile(bin_path)
            manifest_inputs.append({'name': n, 'file': bin_path, 'dtype': str(a.dtype),
                                    'dims': list(a.shape)})
        k += 1
    if ref == 'ort':
        ORT_CASES.append({'dir': d, 'inputs': manifest_inputs})
    else:
        write_outputs(d, outs, ref)


def write_outputs(d, names, arrays):
    for k, (n, a) in enumerate(zip(names, arrays)):
        t = numpy_helper.from_array(np.ascontiguousarray(a), n)
        with open(os.path.join(d, 'test_data_set_0', f'output_{k}.pb'), 'wb') as f:
            f.write(t.SerializeToString())


def finish_ort(modules):
    if not ORT_CASES:
        return
    man = os.path.join(OUT, 'ort_manifest.json')
    with open(man, 'w') as f:
        json.dump(ORT_CASES, f)
    env = dict(os.environ, NODE_PATH=modules)
    subprocess.run(['node', os.path.join(HERE, 'nn2_gen_ort.js'), man], check=True, env=env)
    dt = {'float32': np.float32, 'float64': np.float64, 'int64': np.int64, 'int32': np.int32,
          'uint8': np.uint8}
    for c in ORT_CASES:
        d = c['dir']
        with open(os.path.join(d, 'ort_out.json')) as f:
            meta = json.load(f)
        arrays = []
        for k, m in enumerate(meta):
            a = np.fromfile(os.path.join(d, f'ort_out_{k}.bin'), dtype=dt[m['dtype']])
            arrays.append(a.reshape(m['dims']))
        write_outputs(d, [m['name'] for m in meta], arrays)
        for fn in os.listdir(d):
            if fn.startswith('ort_'):
                os.remove(os.path.join(d, fn))
    os.remove(man)


RNG = np.random.default_rng(20261204)


def rnd(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- recurrent

def perm_blocks(w, order, H):
    return np.concatenate([w[i * H:(i + 1) * H] for i in order], axis=0)


def torch_rnn_case(name, kind, bidir, batch_first, with_state, nonlin='tanh', dt=np.float32):
    torch.manual_seed(len(name))
    T, B, In, H = 5, 3, 4, 6
    D = 2 if bidir else 1
    if kind == 'LSTM':
        m = torch.nn.LSTM(In, H, bidirectional=bidir, batch_first=batch_first)
        order = [0, 3, 1, 2]  # ONNX i,o,f,c from torch i,f,g,o
    elif kind == 'GRU':
        m = torch.nn.GRU(In, H, bidirectional=bidir, batch_first=batch_first)
        order = [1, 0, 2]  # ONNX z,r,h from torch r,z,n
    else:
        m = torch.nn.RNN(In, H, bidirectional=bidir, batch_first=batch_first,
                         nonlinearity=nonlin)
        order = [0]
    if dt == np.float64:
        m = m.double()
    x = rnd(B, T, In, dtype=dt) if batch_first else rnd(T, B, In, dtype=dt)
    h0 = rnd(D, B, H, dtype=dt)
    c0 = rnd(D, B, H, dtype=dt)
    with torch.no_grad():
        args = (torch.from_numpy(x),)
        if with_state:
            args += ((torch.from_numpy(h0), torch.from_numpy(c0)) if kind == 'LSTM'
                     else torch.from_numpy(h0),)
        y, hn = m(*args)
        cn = None
        if kind == 'LSTM':
            hn, cn = hn
    Ws, Rs, Bs = [], [], []
    for sfx in [''] + (['_reverse'] if bidir else []):
        p = {k: v.detach().numpy() for k, v in m.named_parameters()}
        Ws.append(perm_blocks(p['weight_ih_l0' + sfx], order, H))
        Rs.append(perm_blocks(p['weight_hh_l0' + sfx], order, H))
        Bs.append(np.concatenate([perm_blocks(p['bias_ih_l0' + sfx], order, H),
                                  perm_blocks(p['bias_hh_l0' + sfx], order, H)]))
    W, R, Bb = np.stack(Ws), np.stack(Rs), np.stack(Bs)
    y = y.numpy()
    if batch_first:
        Y = y.reshape(B, T, D, H)
        to_state = lambda s: np.ascontiguousarray(s.transpose(1, 0, 2))
    else:
        Y = y.reshape(T, B, D, H).transpose(0, 2, 1, 3)
        to_state = lambda s: s
    inputs = [('X', x), ('W', W), ('R', R), ('B', Bb)]
    if with_state:
        inputs += [('sequence_lens', None), ('initial_h', to_state(h0))]
        if kind == 'LSTM':
            inputs.append(('initial_c', to_state(c0)))
    attrs = {'hidden_size': H}
    if bidir:
        attrs['direction'] = 'bidirectional'
    if batch_first:
        attrs['layout'] = 1
    if kind == 'GRU':
        attrs['linear_before_reset'] = 1
    if kind == 'RNN' and nonlin == 'relu':
        attrs['activations'] = ['Relu'] * D
    outs = ['Y', 'Y_h'] + (['Y_c'] if kind == 'LSTM' else [])
    refs = [np.ascontiguousarray(Y), to_state(hn.numpy())]
    if kind == 'LSTM':
        refs.append(to_state(cn.numpy()))
    make_case(name, kind, inputs, outs, attrs, 14, refs)


def ort_rnn_case(name, kind, attrs, T=4, B=3, In=3, H=5, seq=None, state=True, peep=False,
                 D=None, outs=None, layout=0, opset=14, dtype=np.float32):
    G = {'LSTM': 4, 'GRU': 3, 'RNN': 1}[kind]
    if D is None:
        D = 2 if attrs.get('direction') == 'bidirectional' else 1
    x = rnd(B, T, In) if layout else rnd(T, B, In)
    W = rnd(D, G * H, In) * 0.5
    R = rnd(D, G * H, H) * 0.5
    Bb = rnd(D, 2 * G * H) * 0.5
    sshape = (B, D, H) if layout else (D, B, H)
    inputs = [('X', x.astype(dtype)), ('W', W.astype(dtype)), ('R', R.astype(dtype)),
              ('B', Bb.astype(dtype)),
              ('sequence_lens', None if seq is None else np.array(seq, np.int32)),
              ('initial_h', rnd(*sshape).astype(dtype) if state else None)]
    if kind == 'LSTM':
        inputs.append(('initial_c', rnd(*sshape).astype(dtype) if state else None))
        inputs.append(('P', (rnd(D, 3 * H) * 0.5).astype(dtype) if peep else None))
    while inputs[-1][1] is None:
        inputs.pop()
    if layout:
        attrs = dict(attrs, layout=1)
    attrs = dict(attrs, hidden_size=H)
    if outs is None:
        outs = ['Y', 'Y_h'] + (['Y_c'] if kind == 'LSTM' else [])
    ot = {o: NP2ONNX[np.dtype(dtype)] for o in outs if o}
    make_case(name, kind, inputs, outs, attrs, opset, 'ort', ot)


def recurrent_cases():
    torch_rnn_case('nn2_lstm_bidir_state_torch', 'LSTM', True, False, True)
    torch_rnn_case('nn2_lstm_bidir_batchfirst_torch', 'LSTM', True, True, True)
    torch_rnn_case('nn2_gru_lbr_bidir_state_torch', 'GRU', True, False, True)
    torch_rnn_case('nn2_gru_lbr_batchfirst_torch', 'GRU', False, True, False)
    torch_rnn_case('nn2_rnn_relu_bidir_torch', 'RNN', True, False, True, 'relu')
    torch_rnn_case('nn2_rnn_tanh_batchfirst_torch', 'RNN', True, True, True)
    torch_rnn_case('nn2_lstm_double_torch', 'LSTM', True, False, True, dt=np.float64)
    ort_rnn_case('nn2_lstm_peephole_clip_bidir_seq_ort', 'LSTM',
                 {'direction': 'bidirectional', 'clip': 1.5}, seq=[4, 2, 3], peep=True)
    ort_rnn_case('nn2_lstm_input_forget_reverse_ort', 'LSTM',
                 {'direction': 'reverse', 'input_forget': 1}, peep=True)
    ort_rnn_case('nn2_lstm_activations_ort', 'LSTM',
                 {'activations': ['HardSigmoid', 'Tanh', 'Softsign'],
                  'activation_alpha': [0.3], 'activation_beta': [0.4]})
    ort_rnn_case('nn2_lstm_no_y_seq_ort', 'LSTM', {'direction': 'bidirectional'},
                 seq=[1, 4, 2], outs=['', 'Y_h', 'Y_c'])
    ort_rnn_case('nn2_gru_bidir_seq_ort', 'GRU', {'direction': 'bidirectional'},
                 seq=[3, 4, 1])
    ort_rnn_case('nn2_gru_lbr_seq_clip_ort', 'GRU',
                 {'direction': 'reverse', 'linear_before_reset': 1, 'clip': 0.8},
                 seq=[2, 4, 3])
    ort_rnn_case('nn2_gru_zero_seq_ort', 'GRU', {'direction': 'bidirectional'}, seq=[0, 4, 2])
    ort_rnn_case('nn2_gru_activations_ort', 'GRU',
                 {'activations': ['Sigmoid', 'LeakyRelu'], 'activation_alpha': [0.2]})
    ort_rnn_case('nn2_rnn_bidir_seq_clip_ort', 'RNN',
                 {'direction': 'bidirectional', 'clip': 0.9}, seq=[4, 1, 3])


# ---------------------------------------------------------------- image

def torch_interp_case(name, x, mode, size=None, scale=None, align=None, antialias=False,
                      attrs=None, opset=13):
    with torch.no_grad():
        kw = {}
        if align is not None:
            kw['align_corners'] = align
        if antialias:
            kw['antialias'] = True
        y = F.interpolate(torch.from_numpy(x), size=size, scale_factor=scale, mode=mode,
                          **kw).numpy()
    inputs = [('X', x), ('roi', None)]
    if size is not None:
        inputs += [('scales', None), ('sizes', np.array(x.shape[:2] + tuple(size), np.int64))]
    else:
        inputs += [('scales', np.array([1, 1] + list(scale), np.float32))]
    make_case(name, 'Resize', inputs, ['Y'], attrs, opset, [y])


def torch_grid_case(name, mode, pad, align, vol=False):
    x = rnd(2, 3, 4, 5, 6) if vol else rnd(2, 3, 5, 6)
    gshape = (2, 3, 4, 5, 3) if vol else (2, 4, 7, 2)
    g = (RNG.random(gshape).astype(np.float32) * 2.6 - 1.3)
    with torch.no_grad():
        y = F.grid_sample(torch.from_numpy(x), torch.from_numpy(g), mode=mode, padding_mode=pad,
                          align_corners=align).numpy()
    onnx_mode = {'bilinear': 'linear', 'bicubic': 'cubic'}.get(mode, mode) if vol else mode
    make_case(name, 'GridSample', [('X', x), ('Grid', g)], ['Y'],
              {'mode': onnx_mode, 'padding_mode': pad, 'align_corners': int(align)},
              20 if vol else 16, [y])


def image_cases():
    x = rnd(1, 2, 9, 11)
    torch_interp_case('nn2_resize_bilinear_half_pixel_torch', x, 'bilinear', size=(5, 17),
                      align=False, attrs={'mode': 'linear'})
    torch_interp_case('nn2_resize_bilinear_align_corners_torch', x, 'bilinear', size=(13, 4),
                      align=True,
                      attrs={'mode': 'linear', 'coordinate_transformation_mode': 'align_corners'})
    torch_interp_case('nn2_resize_bicubic_torch', x, 'bicubic', size=(14, 7), align=False,
                      attrs={'mode': 'cubic'})
    torch_interp_case('nn2_resize_nearest_legacy_torch', x, 'nearest', size=(20, 6),
                      attrs={'mode': 'nearest', 'coordinate_transformation_mode': 'asymmetric',
                             'nearest_mode': 'floor'})
    torch_interp_case('nn2_resize_bilinear_antialias_torch', x, 'bilinear', size=(4, 5),
                      align=False, antialias=True,
                      attrs={'mode': 'linear', 'antialias': 1, 'exclude_outside': 1}, opset=18)
    torch_interp_case('nn2_resize_bicubic_antialias_torch', x, 'bicubic', size=(4, 3),
                      align=False, antialias=True,
                      attrs={'mode': 'cubic', 'antialias': 1, 'exclude_outside': 1,
                             'cubic_coeff_a': -0.5}, opset=18)
    torch_interp_case('nn2_resize_upsample_scales_torch', x, 'bilinear', scale=(2.0, 3.0),
                      align=False, attrs={'mode': 'linear'})
    torch_interp_case('nn2_resize_trilinear_torch', rnd(1, 2, 3, 4, 5), 'trilinear',
                      size=(5, 3, 7), align=False, attrs={'mode': 'linear'})
    torch_grid_case('nn2_gridsample_nearest_reflection_align_torch', 'nearest', 'reflection',
                    True)
    torch_grid_case('nn2_gridsample_bicubic_border_torch', 'bicubic', 'border', False)
    torch_grid_case('nn2_gridsample_bicubic_reflection_torch', 'bicubic', 'reflection', False)
    torch_grid_case('nn2_gridsample_bilinear_reflection_align_torch', 'bilinear', 'reflection',
                    True)
    torch_grid_case('nn2_gridsample_3d_linear_zeros_torch', 'bilinear', 'zeros', False, True)
    torch_grid_case('nn2_gridsample_3d_linear_reflection_align_torch', 'bilinear', 'reflection',
                    True, True)
    torch_grid_case('nn2_gridsample_3d_nearest_border_torch', 'nearest', 'border', False, True)
    # ONNX Runtime references
    xr = rnd(1, 3, 6, 8)
    make_case('nn2_resize_keep_aspect_not_larger_ort', 'Resize',
              [('X', xr), ('roi', None), ('scales', None), ('sizes', np.array([4, 5], np.int64))],
              ['Y'], {'mode': 'linear', 'axes': [2, 3], 'keep_aspect_ratio_policy': 'not_larger'},
              18, 'ort')
    make_case('nn2_resize_keep_aspect_not_smaller_ort', 'Resize',
              [('X', xr), ('roi', None), ('scales', None), ('sizes', np.array([4, 5], np.int64))],
              ['Y'], {'mode': 'nearest', 'axes': [2, 3],
                      'keep_aspect_ratio_policy': 'not_smaller'}, 18, 'ort')
    make_case('nn2_resize_linear_antialias_ort', 'Resize',
              [('X', xr), ('roi', None), ('scales', np.array([1, 1, 0.5, 0.4], np.float32))],
              ['Y'], {'mode': 'linear', 'antialias': 1}, 18, 'ort')
    make_case('nn2_resize_linear_antialias_up_ort', 'Resize',
              [('X', xr), ('roi', None), ('scales', np.array([1, 1, 1.5, 0.4], np.float32))],
              ['Y'], {'mode': 'linear', 'antialias': 1}, 18, 'ort')
    make_case('nn2_resize_cubic_antialias_ort', 'Resize',
              [('X', xr), ('roi', None), ('scales', np.array([1, 1, 0.5, 0.4], np.float32))],
              ['Y'], {'mode': 'cubic', 'antialias': 1}, 18, 'ort')
    make_case('nn2_resize_half_pixel_symmetric_ort', 'Resize',
              [('X', xr), ('roi', None), ('scales', np.array([1, 1, 1.7, 0.6], np.float32))],
              ['Y'], {'mode': 'linear', 'coordinate_transformation_mode': 'half_pixel_symmetric'},
              19, 'ort')
    make_case('nn2_resize_crop_cubic_ort', 'Resize',
              [('X', xr), ('roi', np.array([0, 0, 0.2, 0.1, 1, 1, 0.9, 1.2], np.float32)),
               ('scales', None), ('sizes', np.array([1, 3, 5, 7], np.int64))],
              ['Y'], {'mode': 'cubic', 'coordinate_transformation_mode': 'tf_crop_and_resize',
                      'extrapolation_value': -3.0}, 13, 'ort')
    make_case('nn2_resize_opset10_nearest_down_ort', 'Resize',
              [('X', xr), ('scales', np.array([1, 1, 0.5, 0.7], np.float32))], ['Y'],
              {'mode': 'nearest'}, 10, 'ort')
    make_case('nn2_resize_opset11_linear_tfnn_ort', 'Resize',
              [('X', xr), ('roi', np.zeros(0, np.float32)),
               ('scales', np.array([1, 1, 1.5, 2.5], np.float32))], ['Y'],
              {'mode': 'nearest', 'coordinate_transformation_mode': 'tf_half_pixel_for_nn'}, 11,
              'ort')
    xu = RNG.integers(0, 256, (1, 3, 5, 7)).astype(np.uint8)
    make_case('nn2_resize_uint8_linear_ort', 'Resize',
              [('X', xu), ('roi', None), ('scales', np.array([1, 1, 1.6, 0.7], np.float32))],
              ['Y'], {'mode': 'linear'}, 13, 'ort', {'Y': TensorProto.UINT8})
    make_case('nn2_resize_uint8_nearest_ort', 'Resize',
              [('X', xu), ('roi', None), ('scales', np.array([1, 1, 2.5, 0.7], np.float32))],
              ['Y'], {'mode': 'nearest'}, 13, 'ort', {'Y': TensorProto.UINT8})
    # int32 values past 2^24: a nearest resize must copy them exactly
    xi = RNG.integers(-2**31, 2**31 - 1, (1, 2, 4, 3)).astype(np.int32)
    make_case('nn2_resize_int32_nearest_ort', 'Resize',
              [('X', xi), ('roi', None), ('scales', np.array([1, 1, 2, 1.5], np.float32))],
              ['Y'], {'mode': 'nearest'}, 13, 'ort', {'Y': TensorProto.INT32})
    make_case('nn2_upsample_linear_opset9_ort', 'Upsample',
              [('X', xr), ('scales', np.array([1, 1, 2, 1.5], np.float32))], ['Y'],
              {'mode': 'linear'}, 9, 'ort')
    make_case('nn2_roialign_max_ort', 'RoiAlign',
              [('X', rnd(2, 2, 10, 10)),
               ('rois', np.array([[0, 0, 9, 9], [1.2, 2.5, 7.7, 6.1], [3, 3, 4, 4]], np.float32)),
               ('batch_indices', np.array([0, 1, 1], np.int64))], ['Y'],
              {'mode': 'max', 'output_height': 3, 'output_width': 4, 'sampling_ratio': 2}, 16,
              'ort')
    make_case('nn2_roialign_avg_adaptive_ort', 'RoiAlign',
              [('X', rnd(1, 2, 12, 10)),
               ('rois', np.array([[0, 0, 9, 11], [2.2, 1.5, 17.7, 6.1]], np.float32)),
               ('batch_indices', np.array([0, 0], np.int64))], ['Y'],
              {'output_height': 2, 'output_width': 3, 'spatial_scale': 0.5}, 16, 'ort')
    make_case('nn2_maxroipool_ort', 'MaxRoiPool',
              [('X', rnd(2, 3, 8, 9)),
               ('rois', np.array([[0, 0, 0, 8, 7], [1, 2.4, 1.2, 6.6, 5.1]], np.float32))],
              ['Y'], {'pooled_shape': [2, 3], 'spatial_scale': 1.0}, 1, 'ort')
    boxes = RNG.random((2, 12, 4)).astype(np.float32)
    boxes[..., 2:] += boxes[..., :2] * 0.5
    make_case('nn2_nms_multiclass_score_ort', 'NonMaxSuppression',
              [('boxes', boxes), ('scores', RNG.random((2, 3, 12)).astype(np.float32)),
               ('max_output_boxes_per_class', np.array([4], np.int64)),
               ('iou_threshold', np.array([0.3], np.float32)),
               ('score_threshold', np.array([0.2], np.float32))],
              ['selected_indices'], {}, 11, 'ort', {'selected_indices': TensorProto.INT64})
    make_case('nn2_nms_no_threshold_ort', 'NonMaxSuppression',
              [('boxes', boxes), ('scores', RNG.random((2, 1, 12)).astype(np.float32)),
               ('max_output_boxes_per_class', np.array([20], np.int64))],
              ['selected_indices'], {}, 11, 'ort', {'selected_indices': TensorProto.INT64})


# ---------------------------------------------------------------- signal

def as_pairs(c):
    if isinstance(c, torch.Tensor):
        c = c.resolve_conj().numpy()
    return np.stack([c.real, c.imag], axis=-1).astype(np.float32)


def signal_cases():
    x = rnd(2, 12, 3, 1)
    y = as_pairs(torch.fft.rfft(torch.from_numpy(x[..., 0]), n=16, dim=1).numpy())
    make_case('nn2_dft_onesided_len16_torch', 'DFT',
              [('x', x), ('dft_length', np.array(16, np.int64))], ['y'],
              {'axis': 1, 'onesided': 1}, 17, [y])
    xc = rnd(2, 3, 10, 2)
    c = torch.complex(torch.from_numpy(xc[..., 0]), torch.from_numpy(xc[..., 1]))
    y = as_pairs(torch.fft.ifft(c, n=7, dim=2).numpy())
    make_case('nn2_dft_inverse_complex_truncate_torch', 'DFT',
              [('x', xc), ('dft_length', np.array(7, np.int32))], ['y'],
              {'axis': 2, 'inverse': 1}, 17, [y])
    y = as_pairs(torch.fft.fft(c, dim=1).numpy())
    make_case('nn2_dft_opset20_axis_input_torch', 'DFT',
              [('x', xc), ('dft_length', None), ('axis', np.array(-3, np.int64))], ['y'], {}, 20,
              [y])
    xl = rnd(3, 100, 2)
    cl = torch.complex(torch.from_numpy(xl[..., 0]), torch.from_numpy(xl[..., 1]))
    make_case('nn2_dft_len100_bluestein_torch', 'DFT', [('x', xl)], ['y'], {'axis': 1}, 17,
              [as_pairs(torch.fft.fft(cl.to(torch.complex128), dim=1))])
    make_case('nn2_dft_len97_inverse_pad_torch', 'DFT',
              [('x', xl[:, :90]), ('dft_length', np.array(97, np.int64))], ['y'],
              {'axis': 1, 'inverse': 1},
              17, [as_pairs(torch.fft.ifft(cl[:, :90].to(torch.complex128), n=97, dim=1))])
    sl = rnd(1, 300)
    st = torch.stft(torch.from_numpy(sl).double(), n_fft=90, hop_length=33, center=False,
                    window=torch.ones(90, dtype=torch.float64), onesided=True,
                    return_complex=True)
    make_case('nn2_stft_len90_torch', 'STFT',
              [('signal', sl[..., None]), ('frame_step', np.array(33, np.int64)),
               ('window', None), ('frame_length', np.array(90, np.int64))], ['y'], {}, 17,
              [as_pairs(st.resolve_conj().numpy().transpose(0, 2, 1))])
    sig = rnd(2, 50)
    win = torch.hann_window(16)
    st = torch.stft(torch.from_numpy(sig), n_fft=16, hop_length=5, win_length=16, window=win,
                    center=False, onesided=False, return_complex=True)
    make_case('nn2_stft_twosided_hann_torch', 'STFT',
              [('signal', sig[..., None]), ('frame_step', np.array(5, np.int64)),
               ('window', win.numpy()), ('frame_length', np.array(16, np.int64))], ['y'],
              {'onesided': 0}, 17, [as_pairs(st.numpy().transpose(0, 2, 1))])
    # ONNX's Hamming window is alpha = 25/46, beta = 21/46 (torch's default is 0.54 / 0.46)
    hamming = lambda n, **kw: torch.hamming_window(n, alpha=25 / 46, beta=21 / 46, **kw)
    for wn, fn in (('hann', torch.hann_window), ('hamming', hamming),
                   ('blackman', torch.blackman_window)):
        for periodic in (True, False):
            w = fn(13, periodic=periodic, dtype=torch.float64).numpy()
            make_case(f'nn2_{wn}window_{"periodic" if periodic else "symmetric"}_f64_torch',
                      wn.capitalize() + 'Window', [('size', np.array(13, np.int64))], ['y'],
                      {'periodic': int(periodic), 'output_datatype': TensorProto.DOUBLE}, 17,
                      [w])
    make_case('nn2_melweightmatrix_ort', 'MelWeightMatrix',
              [('num_mel_bins', np.array(10, np.int64)), ('dft_length', np.array(64, np.int64)),
               ('sample_rate', np.array(16000, np.int64)),
               ('lower_edge_hertz', np.array(100, np.float32)),
               ('upper_edge_hertz', np.array(7000, np.float32))], ['y'], {}, 17, 'ort')


# ---------------------------------------------------------------- hostile

HOSTILE = os.path.join(HERE, 'cases', 'nn2_hostile')


def hostile_case(name, op, inputs, attrs, opset, nout=1):
    """A malformed node: model + inputs only; tests/unit/onnx/nn2_hostile_test.c
    expects each run to fail with a named error (no reference outputs)."""
    d = os.path.join(HOSTILE, 'test_' + name)
    os.makedirs(os.path.join(d, 'test_data_set_0'))
    node = helper.make_node(op, [n for n, a in inputs], [f'y{i}' for i in range(nout)], **attrs)
    g_in = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], list(a.shape))
            for n, a in inputs if n]
    g_out = [helper.make_tensor_value_info(f'y{i}', TensorProto.FLOAT, None)
             for i in range(nout)]
    model = helper.make_model(helper.make_graph([node], name, g_in, g_out),
                              opset_imports=[helper.make_opsetid('', opset)])
    model.ir_version = 8
    onnx.save(model, os.path.join(d, 'model.onnx'))
    k = 0
    for n, a in inputs:
        if n:
            with open(os.path.join(d, 'test_data_set_0', f'input_{k}.pb'), 'wb') as f:
                f.write(numpy_helper.from_array(a, n).SerializeToString())
            k += 1


def hostile_cases():
    f = lambda *sh: rnd(*sh)
    i64 = lambda v: np.array(v, np.int64)
    hostile_case('lstm_bad_r', 'LSTM', [('X', f(2, 1, 3)), ('W', f(1, 12, 3)),
                                        ('R', f(1, 12, 4))], {'hidden_size': 3}, 14, 3)
    hostile_case('lstm_seq_past_t', 'LSTM',
                 [('X', f(2, 1, 3)), ('W', f(1, 12, 3)), ('R', f(1, 12, 3)), ('', None),
                  ('s', np.array([5], np.int32))], {'hidden_size': 3}, 14, 3)
    hostile_case('gru_unknown_activation', 'GRU',
                 [('X', f(2, 1, 3)), ('W', f(1, 9, 3)), ('R', f(1, 9, 3))],
                 {'hidden_size': 3, 'activations': ['Foo', 'Tanh']}, 14, 2)
    hostile_case('rnn_bad_direction', 'RNN',
                 [('X', f(2, 1, 3)), ('W', f(1, 2, 3)), ('R', f(1, 2, 2))],
                 {'hidden_size': 2, 'direction': 'sideways'}, 14, 2)
    hostile_case('resize_inf_scale', 'Resize',
                 [('X', f(1, 1, 2, 2)), ('', None),
                  ('s', np.array([1, 1, np.inf, 1], np.float32))], {}, 13)
    hostile_case('resize_nan_scale', 'Resize',
                 [('X', f(1, 1, 2, 2)), ('', None),
                  ('s', np.array([1, 1, np.nan, 1], np.float32))], {}, 13)
    hostile_case('resize_huge_sizes', 'Resize',
                 [('X', f(1, 1, 2, 2)), ('', None), ('', None),
                  ('s', i64([1, 1, 1 << 40, 1 << 40]))], {}, 13)
    hostile_case('resize_sizes_past_limit', 'Resize',
                 [('X', f(1, 1, 2, 2)), ('', None), ('', None),
                  ('s', i64([1, 1, 1 << 16, 1 << 16]))], {}, 13)
    hostile_case('resize_scales_count', 'Resize',
                 [('X', f(1, 1, 2, 2)), ('', None), ('s', np.array([2, 2], np.float32))], {}, 13)
    hostile_case('roialign_nan_roi', 'RoiAlign',
                 [('X', f(1, 1, 4, 4)), ('r', np.array([[np.nan, 0, 1e30, 1e30]], np.float32)),
                  ('b', i64([0]))], {}, 16)
    hostile_case('roialign_batch_index', 'RoiAlign',
                 [('X', f(1, 1, 4, 4)), ('r', np.array([[0, 0, 1, 1]], np.float32)),
                  ('b', i64([7]))], {}, 16)
    hostile_case('maxroipool_batch_index', 'MaxRoiPool',
                 [('X', f(1, 1, 4, 4)), ('r', np.array([[3, 0, 0, 1, 1]], np.float32))],
                 {'pooled_shape': [2, 2]}, 1)
    hostile_case('nms_scores_shape', 'NonMaxSuppression',
                 [('b', f(1, 3, 4)), ('s', f(1, 2, 4))], {}, 11)
    hostile_case('dft_huge_length', 'DFT', [('x', f(1, 4, 1)), ('n', i64(1 << 40))], {}, 17)
    hostile_case('dft_axis', 'DFT', [('x', f(1, 4, 1))], {'axis': 5}, 17)
    hostile_case('stft_zero_step', 'STFT',
                 [('x', f(1, 4, 1)), ('st', i64(0)), ('', None), ('fl', i64(3))], {}, 17)
    hostile_case('hannwindow_negative', 'HannWindow', [('n', i64(-3))], {}, 17)
    hostile_case('melweight_negative_bins', 'MelWeightMatrix',
                 [('a', i64(-1)), ('b', i64(8)), ('c', i64(8)),
                  ('d', np.array(0, np.float32)), ('e', np.array(4, np.float32))], {}, 17)
    hostile_case('gridsample_grid_shape', 'GridSample', [('X', f(1, 1, 4, 4)),
                                                         ('g', f(1, 2, 2, 3))], {}, 16)


def main():
    modules = os.environ.get('ORT_NODE_MODULES')
    if len(sys.argv) > 2 and sys.argv[1] == '--ort-modules':
        modules = sys.argv[2]
    if not modules:
        sys.exit('give --ort-modules DIR (node_modules with onnxruntime-node)')
    for d in (OUT, HOSTILE):
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
    recurrent_cases()
    image_cases()
    signal_cases()
    finish_ort(modules)
    hostile_cases()
    print(f'{len(os.listdir(OUT))} cases in {os.path.relpath(OUT)}')


if __name__ == '__main__':
    main()

// tests/onnx/ort_run.js DIR [THREADS] - run DIR/model.onnx in ONNX Runtime
// (npm onnxruntime-node) on the inputs DIR/inputs.json lists (raw
// little-endian files), write each output as DIR/out_<k>.bin and
// DIR/outputs.json ({name, elem_type, dims, file}).  Exit 0 ok, 3 when ORT
// refuses the model (message on stdout), 1 on other errors.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// ONNX TensorProto.DataType -> [ort type name, TypedArray]
const TYPES = {
    1: ['float32', Float32Array], 2: ['uint8', Uint8Array], 3: ['int8', Int8Array],
    4: ['uint16', Uint16Array], 5: ['int16', Int16Array], 6: ['int32', Int32Array],
    7: ['int64', BigInt64Array], 9: ['bool', Uint8Array], 10: ['float16', Uint16Array],
    11: ['float64', Float64Array], 12: ['uint32', Uint32Array], 13: ['uint64', BigUint64Array],
};
const CODE = {};
for (const [k, v] of Object.entries(TYPES)) CODE[v[0]] = Number(k);

async function main() {
    const dir = process.argv[2];
    const threads = Number(process.argv[3] || 1);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'inputs.json'), 'utf8'));
    let sess;
    try {
        sess = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), {
            intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
        });
    } catch (e) {
        console.log('ORT refused the model: ' + String(e.message || e).split('\n')[0]);
        process.exit(3);
    }
    const feeds = {};
    for (const inp of manifest) {
        const t = TYPES[inp.elem_type];
        if (!t) throw new Error('unsupported input type ' + inp.elem_type);
        const buf = fs.readFileSync(path.join(dir, inp.file));
        const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
        let data = new t[1](ab);
        if (inp.elem_type === 9) data = Uint8Array.from(data);
        feeds[inp.name] = new ort.Tensor(t[0], data, inp.dims);
    }
    let res;
    try {
        res = await sess.run(feeds);
    } catch (e) {
        console.log('ORT failed to run the model: ' + String(e.message || e).split('\n')[0]);
        process.exit(3);
    }
    const outs = [];
    let k = 0;
    for (const name of sess.outputNames) {
        const t = res[name];
        const code = CODE[t.type];
        if (!code) {
            console.log('ORT output ' + name + ' has type ' + t.type + ' (not compared)');
            process.exit(3);
        }
        const file = 'out_' + k++ + '.bin';
        const d = t.data;
        fs.writeFileSync(path.join(dir, file), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
        outs.push({name, elem_type: code, dims: t.dims.map(Number), file});
    }
    fs.writeFileSync(path.join(dir, 'outputs.json'), JSON.stringify(outs));
}
main().catch((e) => { console.log('error: ' + (e.stack || e)); process.exit(1); });

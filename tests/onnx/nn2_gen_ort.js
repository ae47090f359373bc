// tests/onnx/nn2_gen_ort.js - ONNX Runtime references for the cases that
// tests/onnx/nn2_gen_cases.py marks "ort": reads MANIFEST.json (a list of
// {dir, inputs: [{name, file, dtype, dims}]}), runs each dir's model.onnx,
// writes ort_out_K.bin + ort_out.json (names, dtypes, dims) beside it.
// Run: NODE_PATH=<onnxruntime-node's node_modules> node nn2_gen_ort.js MANIFEST.json
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const arrays = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, int8: Int8Array,
};
(async () => {
  const manifest = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  for (const c of manifest) {
    const sess = await ort.InferenceSession.create(path.join(c.dir, 'model.onnx'));
    const feeds = {};
    for (const i of c.inputs) {
      const buf = fs.readFileSync(i.file);
      const A = arrays[i.dtype];
      const data = new A(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
      feeds[i.name] = new ort.Tensor(i.dtype, data, i.dims);
    }
    const res = await sess.run(feeds);
    const meta = [];
    sess.outputNames.forEach((name, k) => {
      const t = res[name];
      const d = t.data;
      fs.writeFileSync(path.join(c.dir, `ort_out_${k}.bin`),
                       Buffer.from(d.buffer, d.byteOffset, d.byteLength));
      meta.push({name, dtype: t.type, dims: t.dims});
    });
    fs.writeFileSync(path.join(c.dir, 'ort_out.json'), JSON.stringify(meta));
  }
})().catch((e) => { console.error(e); process.exit(1); });

// tests/formats/gguf_js_check.mjs FILE - parse a GGUF file with Hugging Face's
// @huggingface/gguf (NODE_PATH from scripts/gguf_js.sh) and print what it sees
// as JSON, in gguf_tool dump's terms: version, kv (values), kv_types (GGUF
// value type names), tensors (name, ggml type name, torch shape = ne reversed,
// data offset).  gguf_js_check.sh compares it with ckpt's view.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH || ".", "x.js"));
const { gguf, GGMLQuantizationType, GGUFValueType } = require("@huggingface/gguf");

const file = process.argv[2];
const { metadata, tensorInfos, typedMetadata, tensorDataOffset } = await gguf(path.resolve(file), {
  allowLocalFile: true,
  typedMetadata: true,
});
const vname = (t) => {
  const names = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool",
                 "string", "array", "uint64", "int64", "float64"];
  return names[t] ?? String(t);
};
const plain = (v) => (typeof v === "bigint" ? Number(v) : Array.isArray(v) ? v.map(plain) : v);
const kv = {}, kvTypes = {};
for (const [k, tv] of Object.entries(typedMetadata)) {
  if (k === "version" || k === "tensor_count" || k === "kv_count") continue;
  kv[k] = plain(tv.value);
  kvTypes[k] = tv.type === GGUFValueType.ARRAY ? `array[${vname(tv.subType)}]` : vname(tv.type);
}
const tensors = tensorInfos.map((t) => ({
  name: t.name,
  type: GGMLQuantizationType[t.dtype],
  shape: t.shape.map(Number).reverse(),
  offset: Number(t.offset),
}));
console.log(JSON.stringify({ version: Number(metadata.version), kv, kv_types: kvTypes, tensors,
                             data_offset: Number(tensorDataOffset) }));

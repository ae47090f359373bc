// bench/onnx_bench.js MODEL BATCH THREADS REPS - the same measurement as
// bench/onnx_bench.c with ONNX Runtime (npm onnxruntime-node): session
// creation, then REPS runs after a warm-up; one JSON line.  Graph
// optimisations at ORT's default level ('all'); intra-op threads = THREADS.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function statusKb(key) {
    const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(key + ':\\s+(\\d+)'));
    return m ? Number(m[1]) : -1;
}

async function main() {
    const [model, batchS, threadsS, repsS] = process.argv.slice(2);
    const batch = Number(batchS), threads = Number(threadsS), reps = Number(repsS);
    const rss0 = statusKb('VmRSS');
    const t0 = process.hrtime.bigint();
    const sess = await ort.InferenceSession.create(model, {
        intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
        executionMode: 'sequential',
    });
    const create = Number(process.hrtime.bigint() - t0) / 1e6;
    // input shapes from the model's metadata
    const feeds = {};
    let seed = 42n;
    for (const meta of sess.inputMetadata) {
        const dims = meta.shape.map((d, k) => (typeof d === 'number' && d >= 0 ? d : (k === 0 ? batch : 1)));
        const n = dims.reduce((a, b) => a * b, 1);
        if (meta.type === 'float32') {
            const a = new Float32Array(n);
            for (let e = 0; e < n; e++) {
                seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xFFFFFFFFFFFFFFFFn;
                a[e] = Number(seed >> 11n) / 9007199254740992 * 2 - 1;
            }
            feeds[meta.name] = new ort.Tensor('float32', a, dims);
        } else if (meta.type === 'int64') {
            feeds[meta.name] = new ort.Tensor('int64', new BigInt64Array(n), dims);
        } else {
            throw new Error('input type ' + meta.type);
        }
    }
    const t = [];
    for (let w = 0; w < 3 + reps; w++) {
        const a = process.hrtime.bigint();
        await sess.run(feeds);
        const b = process.hrtime.bigint();
        if (w >= 3) t.push(Number(b - a) / 1e6);
    }
    t.sort((x, y) => x - y);
    console.log(JSON.stringify({create_ms: create, median_ms: t[Math.floor(reps / 2)], min_ms: t[0],
                                peak_kb: statusKb('VmHWM') - rss0}));
}
main().catch((e) => { console.error(String(e)); process.exit(1); });

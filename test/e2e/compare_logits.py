#!/usr/bin/python3
"""Compares Hafnia's simulated logits with a reference executor's.

Usage: compare_logits.py SIMULATED.npy REFERENCE.npy LABELS.npy
           [--min-agreement 0.999] [--atol 1e-4]

Prints the accuracy of both and how often their predicted classes agree, and
fails when the agreement is below --min-agreement or any logit differs by
more than --atol (absolute, logits are of order 1-10).
"""
import argparse
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("simulated")
    parser.add_argument("reference")
    parser.add_argument("labels")
    parser.add_argument("--min-agreement", type=float, default=0.999)
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args()
    simulated = np.load(args.simulated)
    reference = np.load(args.reference)
    labels = np.load(args.labels)
    if simulated.shape != reference.shape:
        sys.exit(f"shapes differ: {simulated.shape} vs {reference.shape}")
    agreement = np.mean(simulated.argmax(1) == reference.argmax(1))
    difference = float(np.abs(simulated - reference).max())
    print(f"accuracy simulated {np.mean(simulated.argmax(1) == labels):.4f} "
          f"reference {np.mean(reference.argmax(1) == labels):.4f}")
    print(f"predicted classes agree on {agreement:.4f} of {len(labels)} "
          f"samples; largest logit difference {difference:.2e}")
    if agreement < args.min_agreement:
        sys.exit(f"agreement {agreement:.4f} below {args.min_agreement}")
    if difference > args.atol:
        sys.exit(f"logit difference {difference:.2e} above {args.atol}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes a 'measured' BER-versus-cycles table drawn from the device model.

Reads the model's BERs (hafnia-device curve --json on stdin) and, for each
cycle count and cell, draws the errors of READS reads from the binomial
distribution (numpy, fixed seed): the table hafnia-device fit is shown on
in docs/device-model.md.

  hafnia-device curve --chip=truth.textproto --cycles=... --json |
      make_measured.py --reads=1e8 --seed=1 > measured.csv
"""
import argparse
import json
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=float, default=1e8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    curve = json.load(sys.stdin)
    rng = np.random.default_rng(args.seed)
    reads = int(args.reads)
    print(f"# drawn from the device model of chip '{curve['chip']}': "
          f"{reads} reads per point, seed {args.seed}")
    print("cycles,1T1R,2T2R,reads")
    for point in curve["points"]:
        bers = [rng.binomial(reads, point[key]) / reads
                for key in ("ber_1t1r", "ber_2t2r")]
        print(f"{point['cycles']:g},{bers[0]:.6g},{bers[1]:.6g},{reads}")


if __name__ == "__main__":
    main()

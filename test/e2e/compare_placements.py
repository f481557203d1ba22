"""The error-aware mapping experiment's checks: no tile of the error-aware
mapping report sits on a bad array, the naive one does use one, and the
error-aware program's accuracy over the trials beats the naive one's.

    compare_placements.py naive-map.json aware-map.json naive-sim.json \
        aware-sim.json --bad=24,30,31
"""

import argparse
import json
import sys


def arrays_used(mapping):
    return {tile["array"] for layer in mapping["layers"]
            for tile in layer["tiles"]}


def main():
    parser = argparse.ArgumentParser()
    for name in ("naive_map", "aware_map", "naive_sim", "aware_sim"):
        parser.add_argument(name)
    parser.add_argument("--bad", required=True)
    args = parser.parse_args()
    bad = {int(a) for a in args.bad.split(",")}
    load = lambda path: json.load(open(path))
    naive, aware = arrays_used(load(args.naive_map)), arrays_used(
        load(args.aware_map))
    if len(naive) != len(aware):
        sys.exit("the placements use %d and %d arrays" % (len(naive),
                                                          len(aware)))
    if aware & bad:
        sys.exit("error-aware placement uses bad arrays %s" %
                 sorted(aware & bad))
    if not naive & bad:
        sys.exit("the naive placement uses no bad array: nothing to show")
    naive_acc = load(args.naive_sim)["accuracy_trials"]["mean"]
    aware_acc = load(args.aware_sim)["accuracy_trials"]["mean"]
    print("naive %.4f, error-aware %.4f" % (naive_acc, aware_acc))
    if not aware_acc > naive_acc:
        sys.exit("error-aware placement is not more accurate")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Train two variants of the paper's EEG network (Penkovsky et al., DATE 2020, Table I,
adapted to 4 electrodes) on real motor-imagery EEG (left vs right hand) and export
them to ONNX (opset 13, BatchNormalization preserved) for Hafnia's tests.

Run:  /usr/bin/python3 train_eeg.py [--gdf PATH/sample.gdf]   (writes into this
      script's directory)

Data: BioSig's sample recording t310_ERDSMaps/sample.gdf (GPL-3+), shipped in the
Debian package octave-biosig. Without --gdf the script runs `apt-get download
octave-biosig` in a temporary directory, unpacks the .deb with `dpkg-deb -x` (nothing
is installed) and reads the file from there. The GDF 1.x file is parsed here (fixed
header, per-channel headers, int16 samples, event table); no biosig library needed.
If python3-biosig happens to be installed, its reading is compared as a cross-check.

Trials: 40 cues (event 0x0301 = left hand -> class 0, 0x0302 = right hand -> class 1).
Window: 960 samples (3.75 s at 256 Hz) from the cue. Per trial and per channel:
subtract the mean, divide by the standard deviation. Layout [N,1,960,4] (time x
electrode, one input channel).

Architecture (Table I with 4 electrodes instead of 64):
  input [N,1,960,4] -> conv1(1,40,(30,1),pad (15,0)) [N,40,961,4] -> bn1 -> ReLU
  -> conv2(40,40,(1,4)) [N,40,961,1] -> bn2 -> act2 -> AvgPool((30,1), stride (15,1))
  [N,40,63,1] -> Flatten (2520) -> fc1(2520,80) -> bn1(80) -> act -> fc2(80,2) -> logits

Variants:
  eeg_float.onnx                 real weights, ReLU everywhere.
  eeg_binarized_classifier.onnx  real conv part; fc1 and fc2 binary (+-1 weights baked
                                 as initializers), Sign activations into both: the
                                 ReLU after bn2 is replaced by a Sign after the
                                 pooling (classifier.sign0; Sign of a ReLU output
                                 would be 0/+1 only), and classifier.sign1 after the
                                 classifier's BN. fc1 has no bias (BN follows).

Evaluation: 4-fold stratified cross-validation over the 40 trials (10 test trials per
fold, 5 per class). Fold 0 is the fixed split 30 train / 10 test: its models are the
exported ones and its 10 test trials are eeg_test_x.npy / eeg_test_y.npy.
"""
import argparse
import glob
import hashlib
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import torch
import torch.nn as nn

# Shared with the other training scripts in test/models.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bnn_training import (  # noqa: E402
    BinaryLinear, Net, SignAct, bake, clip_latent, describe, run_onnx, seed_all,
    train_epoch)

OUT = os.path.dirname(os.path.abspath(__file__))
SEED = 0
FS = 256
WIN = 960            # 3.75 s, Table I's 960 time steps
SHIFT = 64           # training windows start at cue + U{-SHIFT..SHIFT} samples
NOISE = 0.1          # std of Gaussian noise added to normalized training windows
EPOCHS = 60
BATCH = 10
FOLDS = 4
GDF_REL = "usr/share/octave/site/m/biosig/t310_ERDSMaps/sample.gdf"
# sha256 of sample.gdf in Debian 12's octave-biosig 2.5.0-1+b1
GDF_SHA256 = "ec71e5eab48c217fb40a4f0dc41657f25701071e36e1d41d9b7bc434b4beae4f"
EV_LEFT, EV_RIGHT = 0x0301, 0x0302

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


# --------------------------------------------------------------------------- data source
def fetch_gdf(tmp):
    """apt-get download octave-biosig into tmp, unpack the .deb there (no install)."""
    subprocess.run(["apt-get", "download", "octave-biosig"], cwd=tmp, check=True)
    debs = glob.glob(os.path.join(tmp, "octave-biosig_*.deb"))
    assert len(debs) == 1, debs
    subprocess.run(["dpkg-deb", "-x", debs[0], os.path.join(tmp, "x")], check=True)
    print(f"data: {os.path.basename(debs[0])} -> {GDF_REL}")
    return os.path.join(tmp, "x", GDF_REL)


# --------------------------------------------------------------------------- GDF 1.x reader
GDF_TYPES = {1: "<i1", 2: "<u1", 3: "<i2", 4: "<u2", 5: "<i4", 6: "<u4", 7: "<i8",
             8: "<u8", 16: "<f4", 17: "<f8"}


def read_gdf1(path):
    """Read a GDF 1.x file (version string 'GDF 1.xx').

    Fixed header (256 bytes): version char[8] @0, patient char[80] @8, recording
    char[80] @88, start char[16] @168, header bytes int64 @184, number of records
    int64 @236, record duration uint32[2] (seconds = num/den) @244, NS uint32 @252.
    Channel headers (NS x 256 bytes, field-major: all labels, then all transducers, ...):
    label char[16], transducer char[80], physical dimension char[8], physical min/max
    float64, digital min/max int64, prefiltering char[80], samples per record uint32,
    type uint32, reserved char[32].
    Data: records of, per channel, spr samples of its type. Physical value =
    (d - digmin) / (digmax - digmin) * (physmax - physmin) + physmin.
    Event table after the data: mode uint8 (1 or 3), 3 bytes (event sample rate, may be
    0), N uint32, positions uint32[N] (1-based samples), types uint16[N], and for mode 3
    channels uint16[N] and durations uint32[N].
    Returns (signals float64 [T, NS], fs, labels, events dict with 0-based 'pos')."""
    b = open(path, "rb").read()
    ver = b[0:8].decode("latin1")
    if not ver.startswith("GDF 1."):
        raise ValueError(f"{path}: {ver!r}: only GDF 1.x is supported")
    le = lambda off, dt, n=1: np.frombuffer(b, dt, n, off)
    hlen = int(le(184, "<i8")[0])
    nrec = int(le(236, "<i8")[0])
    dnum, dden = (int(v) for v in le(244, "<u4", 2))
    ns = int(le(252, "<u4")[0])
    assert hlen == 256 * (ns + 1), (hlen, ns)
    o = 256

    def field(size, n=ns):
        nonlocal o
        v = [b[o + i * size:o + (i + 1) * size] for i in range(n)]
        o += size * n
        return v

    labels = [s.decode("latin1").strip() for s in field(16)]
    field(80)                                                  # transducer
    units = [s.decode("latin1").strip() for s in field(8)]
    pmin = np.frombuffer(b"".join(field(8)), "<f8")
    pmax = np.frombuffer(b"".join(field(8)), "<f8")
    dmin = np.frombuffer(b"".join(field(8)), "<i8").astype(np.float64)
    dmax = np.frombuffer(b"".join(field(8)), "<i8").astype(np.float64)
    field(80)                                                  # prefiltering
    spr = np.frombuffer(b"".join(field(4)), "<u4")
    typ = np.frombuffer(b"".join(field(4)), "<u4")
    field(32)                                                  # reserved
    assert o == hlen
    if len(set(spr.tolist())) != 1 or len(set(typ.tolist())) != 1:
        raise ValueError("channels with different sample counts or types are not supported")
    spr, dt = int(spr[0]), np.dtype(GDF_TYPES[int(typ[0])])
    fs = spr * dden / dnum
    nbytes = nrec * ns * spr * dt.itemsize
    dig = np.frombuffer(b, dt, nrec * ns * spr, hlen).reshape(nrec, ns, spr)
    dig = dig.transpose(0, 2, 1).reshape(nrec * spr, ns).astype(np.float64)
    sig = (dig - dmin) / (dmax - dmin) * (pmax - pmin) + pmin
    sat = int(((dig <= dmin) | (dig >= dmax)).sum())

    e = hlen + nbytes
    mode, n = b[e], int(le(e + 4, "<u4")[0])
    assert mode in (1, 3), mode
    o = e + 8
    pos = le(o, "<u4", n).astype(np.int64) - 1                 # 1-based -> 0-based
    etyp = le(o + 4 * n, "<u2", n).astype(np.int64)
    ev = {"pos": pos, "typ": etyp}
    if mode == 3:
        ev["chn"] = le(o + 6 * n, "<u2", n).astype(np.int64)
        ev["dur"] = le(o + 8 * n, "<u4", n).astype(np.int64)
        end = o + 12 * n
    else:
        end = o + 6 * n
    assert end == len(b), (end, len(b))
    info = dict(version=ver, fs=fs, labels=labels, units=units, nrec=nrec,
                saturated=sat, nevents=n)
    return sig, info, ev


def crosscheck_biosig(path, sig, ev):
    """Compare with python3-biosig (libbiosig) when it is installed."""
    try:
        import biosig  # noqa: F401
        import json
    except ImportError:
        print("cross-check: python3-biosig not installed, skipped")
        return
    ref = biosig.data(path)
    hdr = json.loads(biosig.header(path))
    pos = np.array([round(x["POS"] * hdr["Samplingrate"]) for x in hdr["EVENT"]])
    typ = np.array([int(x["TYP"], 16) for x in hdr["EVENT"]])
    assert ref.shape == sig.shape, (ref.shape, sig.shape)
    d = np.nanmax(np.abs(ref - sig))
    assert d < 1e-6 and (pos == ev["pos"]).all() and (typ == ev["typ"]).all(), d
    print(f"cross-check: python3-biosig agrees (max |signal diff| {d:.1e} uV, "
          f"same {len(pos)} event positions and types)")


def load_trials(path):
    sig, info, ev = read_gdf1(path)
    assert info["fs"] == FS, info
    print(f"GDF: {info['version']}, {sig.shape[1]} channels {info['labels']} in "
          f"{info['units'][0]}, {info['fs']:g} Hz, {sig.shape[0]} samples "
          f"({sig.shape[0] / FS:.1f} s), {info['nevents']} events, "
          f"{info['saturated']} saturated samples")
    crosscheck_biosig(path, sig, ev)
    cue = np.isin(ev["typ"], (EV_LEFT, EV_RIGHT))
    pos, y = ev["pos"][cue], (ev["typ"][cue] == EV_RIGHT).astype(np.int64)
    assert len(pos) == 40 and y.sum() == 20
    assert pos.min() - SHIFT >= 0 and pos.max() + WIN + SHIFT <= sig.shape[0]
    # raw windows with SHIFT margin on both sides: [40, WIN + 2*SHIFT, 4]
    raw = np.stack([sig[p - SHIFT:p + WIN + SHIFT] for p in pos]).astype(np.float32)
    return raw, y, pos


def normalize(w):
    """Per trial, per channel: subtract mean, divide by std (over time). w [..., T, C]."""
    m = w.mean(-2, keepdims=True)
    s = w.std(-2, keepdims=True)
    return (w - m) / s


def test_windows(raw):
    """Windows starting at the cue, normalized, as [N,1,WIN,4] float32."""
    return normalize(raw[:, SHIFT:SHIFT + WIN].astype(np.float64))[:, None].astype(np.float32)


def folds(y):
    """4 stratified folds of 10 trials (5 left, 5 right), fixed seed."""
    rng = np.random.RandomState(SEED)
    out = [[] for _ in range(FOLDS)]
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == c))
        for k in range(FOLDS):
            out[k] += idx[k::FOLDS].tolist()
    return [np.array(sorted(f)) for f in out]


# --------------------------------------------------------------------------- models
def build(variant):
    feats = nn.Sequential()
    cls = nn.Sequential()
    feats.add_module("conv1", nn.Conv2d(1, 40, (30, 1), padding=(15, 0)))
    feats.add_module("bn1", nn.BatchNorm2d(40))
    feats.add_module("relu1", nn.ReLU())
    feats.add_module("conv2", nn.Conv2d(40, 40, (1, 4)))
    feats.add_module("bn2", nn.BatchNorm2d(40))
    if variant == "float":
        feats.add_module("relu2", nn.ReLU())
    # count_include_pad=False: same result (no padding), but torch then exports a plain
    # AveragePool instead of Pad(0) + AveragePool
    feats.add_module("pool", nn.AvgPool2d((30, 1), stride=(15, 1), count_include_pad=False))
    feats.add_module("flatten", nn.Flatten())
    if variant == "float":
        cls.add_module("fc1", nn.Linear(2520, 80))
        cls.add_module("bn1", nn.BatchNorm1d(80))
        cls.add_module("relu1", nn.ReLU())
        cls.add_module("fc2", nn.Linear(80, 2))
    else:
        cls.add_module("sign0", SignAct())            # binarize pooled features
        cls.add_module("fc1", BinaryLinear(2520, 80, bias=False))
        cls.add_module("bn1", nn.BatchNorm1d(80))
        cls.add_module("sign1", SignAct())
        cls.add_module("fc2", BinaryLinear(80, 2, bias=True))
    return Net(feats, cls)


# --------------------------------------------------------------------------- train
def predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def train(variant, raw, y, seed, epochs=None, monitor=None):
    """raw: [n, WIN + 2*SHIFT, 4] un-normalized windows with margins; y: [n].
    monitor(epoch, model), if given, is called after each epoch (for experiments)."""
    epochs = epochs or EPOCHS
    seed_all(seed)
    model = build(variant)
    binary = variant != "float"
    lr = 3e-3 if binary else 1e-3
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    rng = np.random.RandomState(seed)
    yt = torch.from_numpy(y)
    n = len(y)
    clip_latent(model)
    for ep in range(epochs):
        # augmentation: random start in cue +- SHIFT, then normalize, then noise
        off = rng.randint(0, 2 * SHIFT + 1, size=n)
        w = np.stack([raw[i, o:o + WIN] for i, o in enumerate(off)]).astype(np.float64)
        w = normalize(w) + NOISE * rng.randn(*w.shape)
        xt = torch.from_numpy(w[:, None].astype(np.float32))
        train_epoch(model, opt, xt, yt, torch.from_numpy(rng.permutation(n)), BATCH)
        sched.step()
        if monitor:
            monitor(ep, model)
    model.eval()
    return model


def export(model, path):
    model.eval()
    torch.onnx.export(
        model, torch.zeros(1, 1, WIN, 4), path,
        opset_version=13,
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=True,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


# --------------------------------------------------------------------------- statistics
def wilson(k, n, z=1.959963984540054):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def clopper_pearson(k, n, alpha=0.05):
    from scipy.stats import beta
    lo = 0.0 if k == 0 else beta.ppf(alpha / 2, k, n - k + 1)
    hi = 1.0 if k == n else beta.ppf(1 - alpha / 2, k + 1, n - k)
    return lo, hi


def acc_line(k, n):
    w, cp = wilson(k, n), clopper_pearson(k, n)
    return (f"{k}/{n} = {k / n:.3f}, 95% Wilson [{w[0]:.3f}, {w[1]:.3f}], "
            f"Clopper-Pearson [{cp[0]:.3f}, {cp[1]:.3f}]")


# --------------------------------------------------------------------------- reports
def memory_report(model):
    """Parameter counts of one model: weights and biases of Conv/Linear, and BN as 2
    numbers per channel (its inference form, scale and shift). Returns rows and the
    totals (conv part, classifier weights, classifier biases/BN)."""
    rows = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            rows.append((name, m.weight.numel(), 0 if m.bias is None else m.bias.numel()))
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            rows.append((name, 0, 2 * m.num_features))
    conv = sum(w + b for n, w, b in rows if n.startswith("features"))
    cls_w = sum(w for n, w, b in rows if n.startswith("classifier"))
    cls_b = sum(b for n, w, b in rows if n.startswith("classifier"))
    return rows, conv, cls_w, cls_b


def print_memory():
    _, conv_f, w_f, b_f = memory_report(build("float"))
    rows, conv_b, w_b, b_b = memory_report(build("binarized_classifier"))
    print("memory (weights + biases; BN = 2 numbers per channel):")
    for n, w, b in rows:
        print(f"   {n:18s} weights {w:7d}  bias/BN {b:4d}")
    tot_f = conv_f + w_f + b_f
    print(f"   float: conv part {conv_f}, classifier {w_f + b_f} "
          f"({100 * (w_f + b_f) / tot_f:.1f}%), total {tot_f}")
    print(f"   binarized classifier: conv part {conv_b}, classifier weights {w_b} (1 bit), "
          f"classifier biases/BN {b_b}")
    for bits in (32, 8):
        full = bits / 8 * tot_f
        binc = bits / 8 * (conv_b + b_b) + w_b / 8
        print(f"   {bits}-bit numbers: float {full / 1024:.1f} KiB, binarized classifier "
              f"{binc / 1024:.1f} KiB, saving {100 * (1 - binc / full):.1f}%")


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gdf", help="path to sample.gdf (default: apt-get download "
                                  "octave-biosig into a temporary directory)")
    args = ap.parse_args()
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.gdf or fetch_gdf(tmp)
        digest = sha256(path)
        print(f"sample.gdf sha256 {digest}"
              + ("" if digest == GDF_SHA256 else "  (differs from the README's; results may differ)"))
        raw, y, pos = load_trials(path)

    seed_all(SEED)
    fl = folds(y)
    x_all = test_windows(raw)
    test = fl[0]
    print(f"trials: {len(y)} (left {int((y == 0).sum())}, right {int(y.sum())}); "
          f"cue samples {pos[:3].tolist()}...; fold 0 = test set {test.tolist()}")
    np.save(os.path.join(OUT, "eeg_test_x.npy"), x_all[test])
    np.save(os.path.join(OUT, "eeg_test_y.npy"), y[test].astype(np.int64))

    for variant in ("float", "binarized_classifier"):
        correct = 0
        for k, te in enumerate(fl):
            tr = np.setdiff1d(np.arange(len(y)), te)
            t1 = time.time()
            model = train(variant, raw[tr], y[tr], SEED + k)
            acc_tr = (predict(model, x_all[tr]).argmax(1) == y[tr]).mean()
            pred = predict(model, x_all[te]).argmax(1)
            kk = int((pred == y[te]).sum())
            correct += kk
            print(f"   {variant} fold {k}: train acc {acc_tr:.3f}, test {kk}/{len(te)}"
                  f"  ({time.time() - t1:.1f} s)")
            if k == 0:
                final, final_k = model, kk
        print(f"== {variant}: 4-fold CV {acc_line(correct, len(y))}")
        print(f"   fixed split (fold 0, exported model): {acc_line(final_k, len(test))}")

        xte, yte = x_all[test], y[test]
        model = final
        if variant == "binarized_classifier":
            ref0 = predict(model, xte)
            model = bake(model)
            assert (predict(model, xte).argmax(1) == ref0.argmax(1)).all()
        path = os.path.join(OUT, f"eeg_{variant}.onnx")
        m = export(model, path)
        signs = {}
        logits = run_onnx(m, xte, signs)
        ref = predict(model, xte)
        diff = np.abs(logits - ref).max()
        ops, binary = describe(m)
        print(f"   {os.path.basename(path)}: {os.path.getsize(path)} bytes, onnx.checker OK")
        print(f"   test acc (numpy run of the ONNX file) {(logits.argmax(1) == yte).mean():.3f}, "
              f"max |logit diff| vs PyTorch {diff:.2e}, "
              f"smallest top-1/top-2 logit gap {np.abs(logits[:, 0] - logits[:, 1]).min():.3g}")
        print(f"   activation Sign nodes (exact zeros, smallest |input|, count |input| < 1e-4) on the test set: "
              f"{signs if signs else 'n/a'}")
        print(f"   ops: {ops}")
        print(f"   binary layers: {binary if binary else 'none'}")

    print_memory()
    print(f"total time {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

"""Whole-model gradient check against the PyTorch baseline.

Loads a trained vrae model into the PyTorch VRAE of vrae_torch.py, takes a
batch of ECG5000 series and one draw of the reparameterisation noise, and
compares the loss and every parameter's gradient with vrae's own (computed
by the ignored test `train::tests::gradient_probe`, which this script runs).

    bench/.venv-torch/bin/python bench/pytorch/gradient_probe.py MODEL [--rows 32]

Prints, per parameter, the largest absolute difference relative to the
largest PyTorch gradient entry, and how accurate both f32 gradients are
against the same gradients in float64 on the smallest 10% of entries
(those Adam magnifies most); with --steps N also the weights after N
clipped Adam steps on that same batch and noise (the training loop's
optimiser against torch.optim.Adam and clip_grad_norm_).
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vrae_torch as vt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def read_safetensors(path):
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    tensors = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        start, end = v["data_offsets"]
        tensors[name] = np.frombuffer(raw[8 + n + start:8 + n + end], dtype=np.float32).reshape(v["shape"])
    return tensors, json.loads(header["__metadata__"]["config"])


def load_into_torch(w, steps, hidden):
    """vrae's packed layer rows are W_ih^T, W_hh^T, b_ih, b_hh."""
    m = vt.VRAE(steps, 1, hidden=hidden, latent=w["latent.mean.weight"].shape[1])
    t = torch.tensor
    with torch.no_grad():
        enc = w["encoder.0.packed"]
        lstm = m.encoder.lstm
        lstm.weight_ih_l0.copy_(t(enc[:1].T))
        lstm.weight_hh_l0.copy_(t(enc[1:1 + hidden].T))
        lstm.bias_ih_l0.copy_(t(enc[1 + hidden]))
        lstm.bias_hh_l0.copy_(t(enc[2 + hidden]))
        for head in ("mean", "logvar"):
            lin = getattr(m.lmbd, f"hidden_to_{head}")
            lin.weight.copy_(t(w[f"latent.{head}.weight"].T))
            lin.bias.copy_(t(w[f"latent.{head}.bias"]))
        m.decoder.latent_to_hidden.weight.copy_(t(w["decoder.init.weight"].T))
        m.decoder.latent_to_hidden.bias.copy_(t(w["decoder.init.bias"]))
        dec = w["decoder.0.packed"]
        lstm = m.decoder.lstm
        lstm.weight_ih_l0.zero_()  # its inputs are zeros: no effect, no gradient
        lstm.weight_hh_l0.copy_(t(dec[:hidden].T))
        lstm.bias_ih_l0.copy_(t(dec[hidden]))
        lstm.bias_hh_l0.copy_(t(dec[hidden + 1]))
        m.decoder.hidden_to_output.weight.copy_(t(w["decoder.output.weight"].T))
        m.decoder.hidden_to_output.bias.copy_(t(w["decoder.output.bias"]))
    return m


def torch_grads_in_vrae_order(m, hidden):
    g = lambda p: p.grad.detach().numpy().copy()  # noqa: E731
    enc, dec = m.encoder.lstm, m.decoder.lstm
    return {
        "encoder.0.packed": np.vstack([g(enc.weight_ih_l0).T, g(enc.weight_hh_l0).T, g(enc.bias_ih_l0)[None], g(enc.bias_hh_l0)[None]]),
        "latent.mean.weight": g(m.lmbd.hidden_to_mean.weight).T,
        "latent.mean.bias": g(m.lmbd.hidden_to_mean.bias),
        "latent.logvar.weight": g(m.lmbd.hidden_to_logvar.weight).T,
        "latent.logvar.bias": g(m.lmbd.hidden_to_logvar.bias),
        "decoder.init.weight": g(m.decoder.latent_to_hidden.weight).T,
        "decoder.init.bias": g(m.decoder.latent_to_hidden.bias),
        "decoder.0.packed": np.vstack([g(dec.weight_hh_l0).T, g(dec.bias_ih_l0)[None], g(dec.bias_hh_l0)[None]]),
        "decoder.output.weight": g(m.decoder.hidden_to_output.weight).T,
        "decoder.output.bias": g(m.decoder.hidden_to_output.bias),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--rows", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=0)
    args = p.parse_args()

    weights, config = read_safetensors(args.model)
    hidden = config["hidden_size"]
    if config["block"] != "lstm" or config["depth"] != 1 or config["decoder_inputs"] != "zeros":
        sys.exit("the probe maps one-layer LSTM models with zero decoder inputs only")
    data, _ = vt.load_dataset(ROOT / "data")
    x = data[:args.rows]
    steps = x.shape[1]
    # vrae's default scaling: z-score per series, population std.
    xs = (x - x.mean(dim=1, keepdim=True)) / x.std(dim=1, keepdim=True, unbiased=False)
    eps = torch.randn(args.rows, weights["latent.mean.weight"].shape[1], generator=torch.Generator().manual_seed(args.seed))

    m = load_into_torch(weights, steps, hidden)
    m.train()
    xt = vt.time_major(xs)
    opt = torch.optim.Adam(m.parameters(), lr=config["learning_rate"])

    def loss_and_grads():
        opt.zero_grad(set_to_none=True)
        h = m.encoder(xt)
        mean, logvar = m.lmbd.hidden_to_mean(h), m.lmbd.hidden_to_logvar(h)
        z = mean + torch.exp(0.5 * logvar) * eps
        loss, _, _ = vt.vrae_loss(m.decoder(z), xt, mean, logvar)
        loss.backward()
        return loss

    loss = loss_and_grads()
    ref = torch_grads_in_vrae_order(m, hidden)
    # The same gradients in float64: the yardstick for both f32 versions.
    m64 = load_into_torch(weights, steps, hidden).double()
    h = m64.encoder(xt.double())
    mean64, logvar64 = m64.lmbd.hidden_to_mean(h), m64.lmbd.hidden_to_logvar(h)
    loss64, _, _ = vt.vrae_loss(m64.decoder(mean64 + torch.exp(0.5 * logvar64) * eps.double()), xt.double(), mean64, logvar64)
    loss64.backward()
    exact = torch_grads_in_vrae_order(m64, hidden)
    for step in range(args.steps):
        if step > 0:
            loss_and_grads()
        torch.nn.utils.clip_grad_norm_(m.parameters(), max_norm=config["max_grad_norm"])
        opt.step()
    for p_ in m.parameters():
        p_.grad = p_.detach().clone()  # reuse the mapping to read the weights
    final = torch_grads_in_vrae_order(m, hidden)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy(args.model, tmp / "model.safetensors")
        x.numpy().astype("<f4").tofile(tmp / "x.f32")
        eps.numpy().astype("<f4").tofile(tmp / "eps.f32")
        subprocess.run(["cargo", "test", "--release", "--lib", "gradient_probe", "--", "--ignored", "--quiet"],
                       cwd=ROOT, check=True,
                       env={**os.environ, "VRAE_PROBE_DIR": str(tmp), "VRAE_PROBE_STEPS": str(args.steps)})
        ours = np.fromfile(tmp / "vrae_grads.f32", dtype="<f4")
    print(f"loss: PyTorch {loss.item():.6f}, vrae {ours[0]:.6f}")
    at = 1
    for name, r in ref.items():
        mine = ours[at:at + r.size].reshape(r.shape)
        at += r.size
        scale = np.abs(r).max()
        # Accuracy against float64 on the entries Adam magnifies most: the
        # smallest 10% (Adam scales every entry to unit size).
        e = exact[name]
        small = np.abs(e) <= np.percentile(np.abs(e), 10)
        small &= e != 0
        rel = lambda g: np.median(np.abs(g[small] - e[small]) / np.abs(e[small])) if small.any() else float("nan")  # noqa: E731
        print(f"{name:24s} max |grad| {scale:10.4g}  max |diff| / max |grad| {np.abs(mine - r).max() / scale:.2e}  "
              f"smallest 10% vs float64, median rel err: PyTorch {rel(r):.2e} vrae {rel(mine):.2e}")
    for name, r in final.items():
        mine = ours[at:at + r.size].reshape(r.shape)
        at += r.size
        moved = np.abs(r - weights[name]).max()
        diff = np.abs(mine - r)
        where = np.unravel_index(diff.argmax(), diff.shape)
        print(f"after {args.steps} steps: {name:24s} max |change| {moved:10.4g}  max |diff| / max |change| "
              f"{diff.max() / max(moved, 1e-30):.2e} at {tuple(int(i) for i in where)}")
    if at != ours.size:
        sys.exit(f"vrae wrote {ours.size} values, PyTorch {at}")


if __name__ == "__main__":
    main()

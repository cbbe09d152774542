#!/usr/bin/env python3
"""PyTorch baseline for the `vrae` crate.

Re-implements the VRAE of tejaslodaya/timeseries-clustering-vae (vrae/vrae.py)
with the settings the Rust implementation uses, so that the two can be compared
on speed (training, embedding) and on clustering quality.

Differences from the original, all deliberate:
  * the encoder takes the *last* layer's final hidden state (the original takes
    h_end[0], i.e. the first layer; identical for the 1-layer default);
  * the decoder builds its zero inputs / zero cell state per batch, so the
    partial last batch is trained on instead of dropped (drop_last=False);
  * the output layer maps to `channels` instead of a hard-coded 1;
  * batches are drawn by indexing one in-memory tensor with a seeded
    permutation instead of a DataLoader, so the timings measure the model and
    not Python-side collation.

Every result is printed to stdout as one JSON object per line, each with a
"kind" key (config, train_epoch, train, embed, embed_best, quality), so that a
shell script can grep them. Progress notes go to stderr.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from torch import nn

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
EMBED_BATCH_SIZES = (32, 128, 512, 1024, 5000)


def emit(kind, **fields):
    """One JSON line per result; flush so partial runs still leave data."""
    print(json.dumps({"kind": kind, **fields}), flush=True)


def note(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def load_dataset(data_dir, name="ECG5000"):
    """TRAIN and TEST together: the clustering task is unsupervised, and the
    Rust side embeds and clusters all 5000 rows as well."""
    series, labels = [], []
    for split in ("TRAIN", "TEST"):
        table = pq.read_table(Path(data_dir) / f"{name}_{split}.parquet",
                              columns=["label", "series"])
        series.extend(table.column("series").to_pylist())
        labels.extend(table.column("label").to_pylist())
    lengths = {len(s) for s in series}
    if len(lengths) != 1:
        raise ValueError(f"series must share one length, got {sorted(lengths)}")
    # (N, T, C) float32: the dataset is univariate, so C = 1.
    x = torch.tensor(np.asarray(series, dtype=np.float32)).unsqueeze(-1)
    return x, labels


def time_major(batch):
    """(B, T, C) -> (T, B, C): nn.LSTM is used seq-first like the original."""
    return batch.transpose(0, 1).contiguous()


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

class Encoder(nn.Module):
    def __init__(self, channels, hidden, layers):
        super().__init__()
        self.lstm = nn.LSTM(channels, hidden, layers)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        # Last layer's final state; the original indexes [0] (first layer).
        return h_n[-1]


class Lambda(nn.Module):
    """Hidden state -> latent distribution; samples only while training."""

    def __init__(self, hidden, latent):
        super().__init__()
        self.hidden_to_mean = nn.Linear(hidden, latent)
        self.hidden_to_logvar = nn.Linear(hidden, latent)
        # Same init as the original (biases keep nn.Linear's default).
        nn.init.xavier_uniform_(self.hidden_to_mean.weight)
        nn.init.xavier_uniform_(self.hidden_to_logvar.weight)

    def forward(self, h):
        mean = self.hidden_to_mean(h)
        logvar = self.hidden_to_logvar(h)
        if self.training:
            z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        else:
            z = mean
        return z, mean, logvar


class Decoder(nn.Module):
    def __init__(self, seq_len, channels, hidden, layers, latent):
        super().__init__()
        self.seq_len = seq_len
        self.layers = layers
        self.hidden = hidden
        self.lstm = nn.LSTM(1, hidden, layers)
        self.latent_to_hidden = nn.Linear(latent, hidden)
        self.hidden_to_output = nn.Linear(hidden, channels)
        nn.init.xavier_uniform_(self.latent_to_hidden.weight)
        nn.init.xavier_uniform_(self.hidden_to_output.weight)

    def forward(self, z):
        batch = z.shape[0]
        h_state = self.latent_to_hidden(z)
        # Every layer starts from the same projected latent, as in the original.
        h_0 = h_state.unsqueeze(0).expand(self.layers, batch, self.hidden).contiguous()
        c_0 = z.new_zeros(self.layers, batch, self.hidden)
        # The decoder is driven only by its initial state: inputs are zeros.
        inputs = z.new_zeros(self.seq_len, batch, 1)
        out, _ = self.lstm(inputs, (h_0, c_0))
        return self.hidden_to_output(out)


class VRAE(nn.Module):
    def __init__(self, seq_len, channels, hidden=90, layers=1, latent=20):
        super().__init__()
        self.encoder = Encoder(channels, hidden, layers)
        self.lmbd = Lambda(hidden, latent)
        self.decoder = Decoder(seq_len, channels, hidden, layers, latent)

    def forward(self, x):
        z, mean, logvar = self.lmbd(self.encoder(x))
        return self.decoder(z), mean, logvar

    def embed(self, x):
        """Latent means only: what clustering and the embed benchmark use."""
        return self.lmbd.hidden_to_mean(self.encoder(x))


def vrae_loss(x_hat, x, mean, logvar):
    recon = nn.functional.mse_loss(x_hat, x, reduction="sum")
    # Mean over batch *and* latent dims, as in the original: next to a summed
    # reconstruction term this makes the KL term very weak (kl weight 1).
    kl = -0.5 * torch.mean(1 + logvar - mean.pow(2) - logvar.exp())
    return recon + kl, recon, kl


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def train(model, data, args):
    """Train for args.epochs, emitting one train_epoch line per epoch and a
    train summary. The first epoch is reported separately because it pays for
    allocator growth and oneDNN primitive creation."""
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    n = data.shape[0]
    epoch_secs = []
    model.train()
    for epoch in range(1, args.epochs + 1):
        loss_sum = recon_sum = kl_sum = 0.0
        batches = 0
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, args.batch_size):  # partial last batch kept
            x = time_major(data[perm[start:start + args.batch_size]])
            opt.zero_grad(set_to_none=True)
            x_hat, mean, logvar = model(x)
            loss, recon, kl = vrae_loss(x_hat, x, mean, logvar)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=args.clip)
            opt.step()
            loss_sum += loss.item()
            recon_sum += recon.item()
            kl_sum += kl.item()
            batches += 1
        secs = time.perf_counter() - t0
        epoch_secs.append(secs)
        emit("train_epoch", epoch=epoch, seconds=secs, series_per_s=n / secs,
             batches=batches,
             # Per series, so it is comparable whatever the batch size.
             loss_per_series=loss_sum / n, recon_per_series=recon_sum / n,
             kl_mean_per_batch=kl_sum / batches)
        note(f"epoch {epoch}: {secs:.2f}s, {n / secs:.1f} series/s, "
             f"loss/series {loss_sum / n:.4f}")

    total = sum(epoch_secs)
    steady = epoch_secs[1:]
    emit("train", epochs=args.epochs, rows=n, batch_size=args.batch_size,
         threads=args.threads, total_seconds=total,
         series_per_s_all=n * len(epoch_secs) / total,
         first_epoch_series_per_s=n / epoch_secs[0],
         # Excludes the warm-up epoch; null when only one epoch was run.
         series_per_s_steady=(n * len(steady) / sum(steady)) if steady else None)
    return model


# --------------------------------------------------------------------------
# Embedding
# --------------------------------------------------------------------------

@torch.inference_mode()
def embed_all(model, data, batch_size):
    model.eval()
    out = []
    for start in range(0, data.shape[0], batch_size):
        out.append(model.embed(time_major(data[start:start + batch_size])))
    return torch.cat(out)


def embed_bench(model, data, args):
    n = data.shape[0]
    best = None
    for bs in args.batch_sizes:
        embed_all(model, data, bs)  # warm-up: oneDNN primitives per shape
        secs = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            embed_all(model, data, bs)
            secs.append(time.perf_counter() - t0)
        rate = n / min(secs)
        emit("embed", batch_size=bs, rows=n, repeats=args.repeats,
             threads=args.threads, best_seconds=min(secs),
             median_seconds=statistics.median(secs), series_per_s=rate,
             series_per_s_median=n / statistics.median(secs))
        note(f"embed bs={bs}: {rate:.1f} series/s (best of {args.repeats})")
        if best is None or rate > best[1]:
            best = (bs, rate)
    emit("embed_best", batch_size=best[0], series_per_s=best[1],
         threads=args.threads)


# --------------------------------------------------------------------------
# Clustering quality
# --------------------------------------------------------------------------

def quality(model, data, labels, args):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    z = embed_all(model, data, 512).numpy().astype(np.float64)
    # n_init=1 is scikit-learn's current default for k-means++ ("auto");
    # 10 was its default before 1.4. Both are reported: on ECG5000 the
    # lowest-inertia restart tends to split the two dominant classes.
    for n_init in (1, 10):
        scores = []
        for km_seed in range(10 if n_init == 1 else 1):
            pred = KMeans(n_clusters=args.clusters, n_init=n_init,
                          random_state=args.seed * 100 + km_seed).fit_predict(z)
            scores.append((normalized_mutual_info_score(labels, pred),
                           adjusted_rand_score(labels, pred)))
        emit("quality", epochs=args.epochs, seed=args.seed, clusters=args.clusters,
             kmeans_n_init=n_init, kmeans_runs=len(scores),
             nmi=float(np.mean([s[0] for s in scores])),
             ari=float(np.mean([s[1] for s in scores])))


@torch.inference_mode()
def save_latents(model, data, labels, path):
    """Latent means and log-variances, for comparing their geometry with
    vrae's (bench/quality/latent_stats.py)."""
    model.eval()
    means, logvars = [], []
    for start in range(0, data.shape[0], 512):
        _, mean, logvar = model.lmbd(model.encoder(time_major(data[start:start + 512])))
        means.append(mean)
        logvars.append(logvar)
    np.savez(path, mean=torch.cat(means).numpy(), logvar=torch.cat(logvars).numpy(),
             labels=np.asarray(labels))


# --------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2,
                   help="intra- and inter-op torch threads (default 2)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--name", default="ECG5000",
                   help="dataset: NAME_TRAIN.parquet and NAME_TEST.parquet in --data-dir")
    p.add_argument("--train-bench", action="store_true",
                   help="time training over --epochs on all rows")
    p.add_argument("--embed-bench", action="store_true",
                   help="time encoder + mean projection at several batch sizes")
    p.add_argument("--quality", action="store_true",
                   help="train, then k-means on latent means; print NMI/ARI")
    p.add_argument("--repeats", type=int, default=5,
                   help="timed repeats per batch size in --embed-bench")
    p.add_argument("--batch-sizes", type=int, nargs="+",
                   default=list(EMBED_BATCH_SIZES))
    # Model / optimiser settings; defaults are the comparison settings.
    p.add_argument("--hidden", type=int, default=90)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--latent", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--clusters", type=int, default=5)
    p.add_argument("--save-latents", type=Path,
                   help="with --quality: write the latent means and "
                        "log-variances of every row to this .npz file")
    args = p.parse_args(argv)
    if not (args.train_bench or args.embed_bench or args.quality):
        p.error("pick at least one of --train-bench, --embed-bench, --quality")
    return args


def main(argv=None):
    args = parse_args(argv)
    # Both pools are fixed before any op runs; interop threads can only be set
    # once per process, and leaving either at its default would use every core.
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    torch.manual_seed(args.seed)

    data, labels = load_dataset(args.data_dir, args.name)
    n, seq_len, channels = data.shape
    model = VRAE(seq_len, channels, args.hidden, args.layers, args.latent)
    emit("config", torch=torch.__version__, threads=torch.get_num_threads(),
         interop_threads=torch.get_num_interop_threads(), rows=n,
         seq_len=seq_len, channels=channels, hidden=args.hidden,
         layers=args.layers, latent=args.latent, batch_size=args.batch_size,
         lr=args.lr, epochs=args.epochs, seed=args.seed,
         params=sum(p.numel() for p in model.parameters()),
         # Timings are only meaningful on an otherwise idle machine: with
         # oversubscribed cores, OpenMP barriers make torch many times slower.
         loadavg_1m=os.getloadavg()[0])

    # --quality needs a trained model; one training run serves both modes.
    if args.train_bench or args.quality:
        train(model, data, args)
    if args.quality:
        quality(model, data, labels, args)
        if args.save_latents:
            save_latents(model, data, labels, args.save_latents)
    # Throughput does not depend on the weights, so an untrained model is fine
    # when --embed-bench runs alone.
    if args.embed_bench:
        embed_bench(model, data, args)


if __name__ == "__main__":
    main()

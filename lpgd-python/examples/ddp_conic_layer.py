"""Data-parallel training through a conic layer with ``torch.distributed`` (gloo): the way
training scales past one machine, with the layer unchanged.

A small network maps features to the linear cost of a box-constrained QP layer
``min ½‖x‖² + cᵀx  s.t.  −1 ≤ x ≤ 1, Σx = 0`` and is trained so that the layer's solution matches
targets. Each process takes its share of every batch; DistributedDataParallel averages the
gradients. The loss is summed per item (LPGD perturbs by τ times each item's own gradient) and
the averaged gradient is rescaled by the world size, so a run on any number of processes takes
exactly the steps of a single process on the whole batch.

    python examples/ddp_conic_layer.py --world 2      # two processes on this machine
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import lpgd.torch as lt

N, FEATURES, BATCH = 8, 4, 32


def problem():
    """The QP layer's structure and fixed values: rows Σx = 0, x ≤ 1, −x ≤ 1."""
    A = sp.vstack([sp.csc_matrix(np.ones((1, N))), sp.eye(N), -sp.eye(N)]).tocsc()
    b = np.concatenate([[0.0], np.ones(2 * N)])
    layer = lt.ConicLayer(A, {"z": 1, "l": 2 * N}, sp.eye(N), tau=1e-2, side="centered",
                          threads=1)
    a_vals, p_vals = layer.values_of(torch.from_numpy(A.toarray()), torch.eye(N))
    return layer, a_vals, torch.from_numpy(b), p_vals


def make_data(seed=0, items=BATCH * 4):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(items, FEATURES, generator=g, dtype=torch.float64)
    w_true = torch.randn(FEATURES, N, generator=g, dtype=torch.float64)
    layer, a_vals, b, p_vals = problem()
    with torch.no_grad():
        targets = layer(a_vals, b, x @ w_true, p_vals)
    return x, targets


def train(rank: int, world: int, steps: int, seed: int = 0) -> tuple[list[float], torch.Tensor]:
    """Trains on this process's share of every batch; returns the global loss per step and the
    final weights."""
    torch.manual_seed(seed)
    model = torch.nn.Linear(FEATURES, N, dtype=torch.float64)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)
    layer, a_vals, b, p_vals = problem()
    x, targets = make_data(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for step in range(steps):
        lo = (step * BATCH) % len(x)
        xb, tb = x[lo:lo + BATCH], targets[lo:lo + BATCH]
        mine = slice(rank * BATCH // world, (rank + 1) * BATCH // world)
        out = layer(a_vals, b, model(xb[mine]), p_vals)
        loss = ((out - tb[mine]) ** 2).sum()  # per-item losses summed: τ sees each item's own
        opt.zero_grad()
        loss.backward()  # DDP averages the gradients over the processes
        for prm in model.parameters():
            prm.grad *= world / BATCH  # … so the step is the mean over the whole batch
        opt.step()
        total = loss.detach().clone()
        if world > 1:
            dist.all_reduce(total)
        losses.append(total.item() / BATCH)
    weight = (model.module if world > 1 else model).weight.detach().clone()
    return losses, weight


def _worker(rank, world, steps, port, out_dir):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        losses, weight = train(rank, world, steps)
        torch.save({"losses": losses, "weight": weight}, os.path.join(out_dir, f"{rank}.pt"))
        dist.barrier()  # no process leaves while another still talks to it
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_distributed(world: int = 2, steps: int = 20) -> list[dict]:
    """Spawns ``world`` gloo processes on this machine; returns each rank's losses and weights."""
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_worker, args=(world, steps, _free_port(), tmp), nprocs=world, join=True)
        return [torch.load(os.path.join(tmp, f"{r}.pt")) for r in range(world)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", type=int, default=2)
    ap.add_argument("--steps", type=int, default=40)
    args = ap.parse_args()
    results = run_distributed(args.world, args.steps)
    single, _ = train(0, 1, args.steps)
    losses = results[0]["losses"]
    print(f"{args.world} processes: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(f"1 process:   loss {single[0]:.4f} -> {single[-1]:.4f}")


if __name__ == "__main__":
    main()

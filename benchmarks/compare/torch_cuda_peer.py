#!/usr/bin/env python3
"""PyTorch peer of bench_cuda on the GPU machine (scripts/gpu-run.sh runs it).

Times, on the same device and shapes as benchmarks/bench_cuda.cu:
  lstm_step_cudnn_{fp32,tf32}  nn.LSTM (cuDNN) + Linear head, cross-entropy, SGD step:
                               B=128, T=28, I=28, H=128, 10 classes
  hvp_double_backward          exact Hessian-vector product of the mean loss of the same model by
                               double backward with cuDNN disabled (cuDNN RNNs have no double
                               backward), the peer of BM_CudaLstmHvp
  lstm_grad_native             the gradient alone, cuDNN disabled (peer of BM_CudaLstmGradient)
Writes one JSON object (name -> {"ms": median, "runs": n}) to --out and prints a table.
"""
import argparse
import json
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        print("torch_cuda_peer: no CUDA device visible to PyTorch", file=sys.stderr)
        json.dump({"error": "no CUDA device"}, open(args.out, "w"))
        return 2
    dev = torch.device("cuda")
    B, T, I, H, C = 128, 28, 28, 128, 10
    torch.manual_seed(1)
    x = torch.randn(B, T, I, device=dev)
    y = torch.randint(0, C, (B,), device=dev)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(I, H, batch_first=True)
            self.fc = nn.Linear(H, C)

        def forward(self, x):
            _, (h, _) = self.rnn(x)
            return self.fc(h[-1])

    def timed(fn):
        for _ in range(args.warmup):
            fn()
        torch.cuda.synchronize()
        ms = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            ms.append((time.perf_counter() - t0) * 1e3)
        return {"ms": statistics.median(ms), "min_ms": min(ms), "runs": len(ms)}

    results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
               "cudnn": torch.backends.cudnn.version()}
    for tf32 in (False, True):
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        net = Net().to(dev)
        opt = torch.optim.SGD(net.parameters(), lr=0.01)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            opt.step()

        results["lstm_step_cudnn_" + ("tf32" if tf32 else "fp32")] = timed(step)

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    net = Net().to(dev)
    params = [p for p in net.parameters()]
    v = [torch.full_like(p, 0.01) for p in params]
    with torch.backends.cudnn.flags(enabled=False):
        def grad_only():
            return torch.autograd.grad(F.cross_entropy(net(x), y), params)

        def hvp():
            g = torch.autograd.grad(F.cross_entropy(net(x), y), params, create_graph=True)
            dot = sum((gi * vi).sum() for gi, vi in zip(g, v))
            return torch.autograd.grad(dot, params)

        results["lstm_grad_native"] = timed(grad_only)
        results["hvp_double_backward"] = timed(hvp)

    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print(f"PyTorch {results['torch']} cuDNN {results['cudnn']} on {results['device']}")
    for k, r in results.items():
        if isinstance(r, dict):
            print(f"  {k:26s} {r['ms']:9.3f} ms (median of {r['runs']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

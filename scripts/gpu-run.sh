#!/usr/bin/env bash
# The whole GPU run in one call (the GPU machine costs minutes to start): build check, the CUDA tests,
# the GPU benchmarks and the PyTorch peer, then a summary table, printed last. See docs/cuda.md.
#
# On the development machine (no GPU), build and bundle the binaries:
#   cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DRNNABS_NATIVE=OFF \
#         -DRNNABS_BUILD_EXAMPLES=OFF -DCMAKE_CUDA_ARCHITECTURES=90
#   cmake --build build-gpu --target test_cuda bench_cuda
#   scripts/gpu-run.sh --bundle build-gpu        # -> build-gpu/gpu-bundle/{bin,lib} (a few MB)
# (RNNABS_NATIVE=OFF: the GPU machine's CPU may lack this machine's instructions.)
# On the GPU machine (the bundle travels with the working tree; nothing is compiled there but a probe):
#   scripts/gpu-run.sh OUTDIR [BUNDLE_DIR]       # BUNDLE_DIR default build-gpu/gpu-bundle
# OUTDIR receives: device.txt, ldd.txt, test_cuda.log/.xml, bench_cuda.log/.json, torch_peer.log/.json,
# summary.txt. Exit status: non-zero when the tests fail or a step cannot run.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--bundle" ]; then
  build=${2:-build-gpu}
  dst=$build/gpu-bundle
  rm -rf "$dst" && mkdir -p "$dst/bin" "$dst/lib"
  for b in tests/cuda/test_cuda benchmarks/bench_cuda; do
    [ -x "$build/$b" ] || { echo "gpu-run --bundle: $build/$b is not built" >&2; exit 1; }
    cp "$build/$b" "$dst/bin/"
  done
  # Shared libraries the GPU machine lacks (it has no Debian packages): everything that is neither
  # glibc/libstdc++/libgomp nor a CUDA library (those come from its toolkit / PyTorch).
  for b in "$dst"/bin/*; do
    ldd "$b" | awk '/=> \// {print $3}'
  done | sort -u | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|libgcc_s.so*|libstdc++.so*|libgomp.so*) ;;
      libcu*|libnv*|libcudnn*) ;;
      *) cp -L "$lib" "$dst/lib/" ;;
    esac
  done
  du -sh "$dst"
  ls "$dst/bin" "$dst/lib"
  exit 0
fi

[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [BUNDLE_DIR] | --bundle [BUILD_DIR]" >&2; exit 2; }
out=$1
bundle=${2:-build-gpu/gpu-bundle}
mkdir -p "$out"
status=0
declare -a rows=()
step() { echo; echo "==> $*"; }

# ---- 1. device and libraries ------------------------------------------------------------------
step "device"
{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 || true
  command -v nvcc >/dev/null && nvcc --version | tail -2
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1
  lscpu 2>/dev/null | grep -E "Model name|Flags" | cut -c1-200
} | tee "$out/device.txt"
# cuBLAS/cuDNN/cuSOLVER/cuRAND from the device's PyTorch wheels (nvidia/*/lib) and its toolkit.
nvroot=$(python3 -c 'import nvidia, os; print(list(nvidia.__path__)[0])' 2>/dev/null || true)
libpath=$bundle/lib
if [ -n "$nvroot" ]; then
  for d in "$nvroot"/*/lib; do [ -d "$d" ] && libpath=$libpath:$d; done
fi
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && libpath=$libpath:$d
done
export LD_LIBRARY_PATH=$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH" | tee -a "$out/device.txt"

# ---- 2. build check: the bundle's libraries resolve; nvcc builds and runs a probe --------------
step "build check"
missing=0
for b in "$bundle"/bin/test_cuda "$bundle"/bin/bench_cuda; do
  if [ ! -x "$b" ]; then echo "missing $b (run scripts/gpu-run.sh --bundle on the development machine)"; missing=1; continue; fi
  echo "## $b" >> "$out/ldd.txt"
  ldd "$b" >> "$out/ldd.txt" 2>&1
  if ldd "$b" | grep -q "not found"; then echo "$b: unresolved libraries:"; ldd "$b" | grep "not found"; missing=1; fi
done
probe=ok
if command -v nvcc >/dev/null; then
  cat > "$out/probe.cu" <<'CU'
#include <cstdio>
__global__ void k(int* x) { x[threadIdx.x] = threadIdx.x; }
int main() {
  int n = 0; cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) { std::printf("probe: no device (%s)\n", cudaGetErrorString(e)); return 1; }
  cudaDeviceProp p; cudaGetDeviceProperties(&p, 0);
  int* d; cudaMalloc(&d, 32 * sizeof(int)); k<<<1, 32>>>(d); int h[32]; cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
  std::printf("probe: %s sm_%d%d, %d SMs, kernel %s\n", p.name, p.major, p.minor, p.multiProcessorCount, h[31] == 31 ? "ok" : "WRONG");
  return h[31] == 31 ? 0 : 1;
}
CU
  (nvcc -arch=sm_90 -o "$out/probe" "$out/probe.cu" && "$out/probe") 2>&1 | tee "$out/probe.log" || probe=failed
else
  probe="no nvcc"
fi
rows+=("build check|libraries $([ $missing -eq 0 ] && echo resolved || echo MISSING), probe $probe")
[ $missing -eq 0 ] || status=1

# ---- 3. tests ---------------------------------------------------------------------------------
step "test_cuda"
tests="not run"
if [ -x "$bundle/bin/test_cuda" ]; then
  "$bundle/bin/test_cuda" --gtest_output="xml:$out/test_cuda.xml" 2>&1 | tee "$out/test_cuda.log"
  rc=${PIPESTATUS[0]}
  tests=$(python3 - "$out/test_cuda.xml" <<'PY' 2>/dev/null || echo "rc $rc"
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
n, f, e = int(r.get("tests")), int(r.get("failures")), int(r.get("errors"))
s = sum(1 for c in r.iter("testcase") if c.find("skipped") is not None)
print(f"{n - f - e - s} passed, {f + e} failed, {s} skipped of {n}")
PY
)
  [ "$rc" -eq 0 ] || status=1
fi
rows+=("test_cuda|$tests")

# ---- 4. benchmarks and the PyTorch peer ---------------------------------------------------------
step "bench_cuda"
if [ -x "$bundle/bin/bench_cuda" ]; then
  "$bundle/bin/bench_cuda" --benchmark_min_time=0.5 --benchmark_out="$out/bench_cuda.json" \
    --benchmark_out_format=json 2>&1 | tee "$out/bench_cuda.log" || status=1
fi
step "torch peer"
python3 benchmarks/compare/torch_cuda_peer.py --out "$out/torch_peer.json" 2>&1 | tee "$out/torch_peer.log" || true

# ---- 5. summary (last) ------------------------------------------------------------------------
python3 - "$out" "${rows[@]}" <<'PY' | tee "$out/summary.txt"
import json, os, sys
out, rows = sys.argv[1], [r.split("|", 1) for r in sys.argv[2:]]
def load(name):
    try:
        return json.load(open(os.path.join(out, name)))
    except Exception:
        return {}
bench = {b["name"]: b for b in load("bench_cuda.json").get("benchmarks", []) if "error_occurred" not in b}
peer = load("torch_peer.json")
def ms(name):
    b = bench.get(name)
    return None if b is None else b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
def pms(key):
    r = peer.get(key)
    return r["ms"] if isinstance(r, dict) else None
def fmt(x):
    return "-" if x is None else f"{x:.3f}"
table = []
for label, name, target in [("GMM EM iteration diag (N=1.68M D=10 K=37)", "BM_CudaGmmEmIteration/0/real_time", 5.0),
                            ("GMM EM iteration full (N=1.68M D=10 K=37)", "BM_CudaGmmEmIteration/1/real_time", 15.0)]:
    t = ms(name)
    table.append((label, fmt(t), f"target <= {target} ms", "-" if t is None else f"{t / target:.2f} of target"))
for label, name in [("k-means++ seeding (N=1.68M D=10 K=37)", "BM_CudaKmeansPlusPlus/real_time"),
                    ("Lloyd run of 1 iteration (same; 2 assignments)", "BM_CudaLloydIteration/real_time")]:
    t = ms(name)
    table.append((label, fmt(t), "no target (GMM init)", "-"))
for prec in ("fp32", "tf32"):
    t, p = ms(f"BM_CudaLstmTrainStep/{0 if prec == 'fp32' else 1}/real_time"), pms(f"lstm_step_cudnn_{prec}")
    table.append((f"LSTM train step {prec} (B=128 T=28 I=28 H=128)", fmt(t), f"torch cuDNN {fmt(p)} ms",
                  "-" if None in (t, p) else f"{p / t:.2f}x torch (>= 1 wanted)"))
t, p = ms("BM_CudaLstmGradient/real_time"), pms("lstm_grad_native")
table.append(("LSTM gradient, own kernels", fmt(t), f"torch native {fmt(p)} ms", "-" if None in (t, p) else f"{p / t:.2f}x torch"))
t, p = ms("BM_CudaLstmHvp/real_time"), pms("hvp_double_backward")
table.append(("LSTM exact HVP, own kernels", fmt(t), f"torch double backward {fmt(p)} ms",
              "-" if None in (t, p) else f"{p / t:.2f}x torch (>= 10 wanted)"))
print()
print("=" * 100)
print(f"GPU run summary  ({peer.get('device', 'device ?')}, torch {peer.get('torch', '?')})")
for k, v in rows:
    print(f"  {k:14s} {v}")
print(f"  {'case':46s} {'ours ms':>9s}  {'peer / target':28s} ratio")
for r in table:
    print(f"  {r[0]:46s} {r[1]:>9s}  {r[2]:28s} {r[3]}")
print("=" * 100)
PY
exit $status

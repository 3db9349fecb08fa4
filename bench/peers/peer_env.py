"""What every PyTorch peer shares: running at full strength, and saying how it ran.

A peer must run as well as the machine lets it (issue 16): every core as an intra-op thread and the
BLAS kernels native to this CPU. OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when it loads,
so the bench removes them from the peer's own environment before starting it (bench/lib/torch_peer.ts);
here we only check they are gone, set the thread count, and describe what the process ran with.
Also: a minimal safetensors reader (torch.frombuffer, no numpy or safetensors package needed).
"""
import ctypes
import json
import os
import struct

import torch

HELD_BACK = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _openblas():
    """The OpenBLAS library this process loaded (through torch's libblas), or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)  # already loaded: dlopen returns the same handle
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib
        except (OSError, AttributeError):
            continue
    return None


def full_strength():
    """Uses every core for intra-op work; returns the one-line description the bench prints."""
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    return describe()


def describe():
    """Threads, BLAS core type and the OpenBLAS variables as this process has them."""
    lib = _openblas()
    if lib is not None:
        blas = f"OpenBLAS core {lib.openblas_get_corename().decode()}, {lib.openblas_get_num_threads()} BLAS threads"
    else:
        blas = "BLAS: no OpenBLAS loaded (" + ("MKL" if torch.backends.mkl.is_available() else "unknown") + ")"
    env = ", ".join(f"{k}={os.environ[k]}" if k in os.environ else f"{k} unset" for k in (*HELD_BACK, "OMP_WAIT_POLICY"))
    return (f"PyTorch {torch.__version__}: {torch.get_num_threads()} intra-op threads of {os.cpu_count()} cores, "
            f"{blas}; {env}")


def read_safetensors(path):
    """{name: float32 tensor} from a safetensors file of F32 tensors."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = bytearray(data[8 + n:])
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {entry['dtype']}, expected F32")
        lo, hi = entry["data_offsets"]
        t = torch.frombuffer(body, dtype=torch.float32, count=(hi - lo) // 4, offset=lo) if hi > lo else torch.zeros(0)
        out[name] = t.clone().view(entry["shape"])
    return out

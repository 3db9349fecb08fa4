#!/usr/bin/env bash
# Benchmark-only setup (run by `npm run bench`'s prebench, never by the tests or CI): the PyTorch CPU
# peers need Debian's python3-torch and the pthread OpenBLAS (without it torch falls back to the
# reference BLAS, ~6x slower). Idempotent; installs only as root. The peers are optional, so a
# machine where this cannot install (no root, no network) still benchmarks, without their columns.
set -uo pipefail

have_torch() { /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; }
have_openblas() { ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 /usr/lib/*/openblas-pthread/libblas.so.3 >/dev/null 2>&1; }

if have_torch && have_openblas; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "setup_bench: python3-torch or libopenblas0-pthread is missing and installing needs root; the PyTorch peers will be skipped" >&2
  exit 0
fi
echo "setup_bench: installing python3-torch and libopenblas0-pthread (PyTorch CPU peers)" >&2
apt-get update -qq || true
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread >/dev/null; then
  echo "setup_bench: apt-get could not install them; the PyTorch peers will be skipped" >&2
fi
exit 0

#!/usr/bin/env bash
# The device benchmark's command on the GPU machine (x86-64, NVIDIA driver, python3 with PyTorch, no Node): run
# from the project root with .device/ and .gl/ from bench/device/pack.sh beside it. Writes device.json and
# device.txt to $OUT (or /tmp/einjit-device) and prints the summary. BUDGET (seconds, default 330) bounds the
# bench's own sections; a hard limit of BUDGET + 90 s stops it whatever happens. SKIP_GL=1 leaves the GL/Vulkan
# loader packages unpacked (for a trial run on a machine that has them).
set -u
export PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/einjit-device}
mkdir -p "$out"
[ "${SKIP_GL:-0}" = 1 ] || for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
# shellcheck disable=SC1091
source .device/boot.sh
# Dawn's package (an optional peer dependency, packed apart by pack.sh).
[ -f node_modules/webgpu/package.json ] || tar -xJf .device/webgpu.tar.xz
nv=/usr/local/nvidia/share
# boot.sh points Vulkan at NVIDIA's driver file wherever the system has none; keep that only where it exists.
if [ -f $nv/vulkan/icd.d/nvidia_icd.json ]; then export VK_DRIVER_FILES=$nv/vulkan/icd.d/nvidia_icd.json; else unset VK_DRIVER_FILES; fi
[ -f $nv/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$nv/glvnd/egl_vendor.d/10_nvidia.json
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} PYTHONUNBUFFERED=1
budget=${BUDGET:-330}
echo "node $(node --version); VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}; $(nvidia-smi -L 2>/dev/null | head -1)"
timeout -k 10 $((budget + 90)) node .device/bench/device.mjs --out "$out" --budget "$budget" --torch bench/device/torch_peer.py "$@" 2>&1 | tee "$out/log.txt"
echo "exit ${PIPESTATUS[0]}"

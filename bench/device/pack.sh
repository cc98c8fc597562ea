#!/usr/bin/env bash
# Prepares what the device benchmark needs on a GPU machine without Node's toolchain or a package registry, all in
# ignored folders: .device/ (Node, the Vulkan loader, the production node_modules with Dawn: the shared
# device-pack script), .device/bench/device.mjs (bench/device/bench.ts with einjit's sources and TensorFlow.js,
# a devDependency, bundled by esbuild; only Dawn's `webgpu` stays external) and .gl/ (the GL/EGL/Vulkan loader
# packages of the machine's distribution, unpacked there before Dawn starts).
#   bash bench/device/pack.sh          then run there, carrying .device and .gl:  bash bench/device/run.sh
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
bash ../shared/tools/device-pack.sh >/dev/null
# Dawn is an optional peer dependency, so the production tree above leaves it out: pack it beside (linux-x64 only).
tar -C . --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/webgpu/dist/linux-arm64' -cJf .device/webgpu.tar.xz node_modules/webgpu
mkdir -p .device/bench
npx esbuild bench/device/bench.ts --bundle --platform=node --format=esm --target=node20 --external:webgpu \
  --banner:js="import { createRequire as __einjitRequire } from 'node:module'; const require = __einjitRequire(import.meta.url);" \
  --log-level=warning --outfile=.device/bench/device.mjs
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p .gl
  lists=$(mktemp -d); mkdir -p "$lists/partial"
  o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  apt-get $o update -qq >/dev/null 2>&1 || true
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1)
  rm -rf "$lists"
fi
du -sh .device .gl
echo "ready: carry .device and .gl; the command there is: bash bench/device/run.sh"

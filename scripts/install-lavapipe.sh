#!/usr/bin/env bash
# Installs Mesa's lavapipe (a software Vulkan driver) that Dawn accepts, so einjit's WebGPU backend runs on a
# machine without a GPU. Debian bookworm's own Mesa 22 lacks features Dawn requires; bookworm-backports has
# Mesa 25, which works. The backports suite is added on the Debian mirror the machine already uses.
# Needs root. Idempotent. Does nothing on systems that are not Debian bookworm.
set -euo pipefail
if [ -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q bpo; then
  echo "lavapipe: backports Mesa already installed ($(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
  exit 0
fi
if ! grep -q 'bookworm' /etc/os-release 2>/dev/null; then
  echo "lavapipe: not Debian bookworm; install a Vulkan driver (Mesa >= 24 lavapipe, or a GPU driver) by hand" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "lavapipe: needs root to install packages" >&2
  exit 1
fi
uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
[ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v -- '-security' | head -n1 || true)
[ -n "$uri" ] || { echo "lavapipe: no Debian mirror found in the apt sources" >&2; exit 1; }
echo "deb $uri bookworm-backports main" > /etc/apt/sources.list.d/einjit-bookworm-backports.list
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports libvulkan1 mesa-vulkan-drivers >/dev/null
echo "lavapipe: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"

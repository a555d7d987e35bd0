#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for pulumi-esx's simulators and tests, then the npm packages.
# Idempotent: packages already present are not installed again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  golang-go                          # builds the embedded ESX host (sim/esx)
  golang-github-vmware-govmomi-dev   # VMware's govmomi simulator, built in GOPATH mode
  python3-glance                     # the embedded OpenStack Glance
  python3-keystone python3-keystonemiddleware  # the embedded Keystone in front of Glance (scripts/lib/keystone-sim.ts)
  qemu-utils                         # qemu-img makes the test disk images
  iproute2                           # network namespaces for the guest tool tests
  cloud-init                         # its VMware datasource checks guestinfo.metadata
  python3-netifaces                  # needed by cloud-init's datasource
  systemd                            # systemd-analyze verifies the guest tool's unit; its systemd-networkd applies the tool's files
  # The guest tool's stacks, run by test/guest-linux-stacks.test.ts inside namespaces and chroots (never on this
  # machine's interfaces). Safe to install on a working machine: netplan.io has no maintainer scripts, and while
  # /etc/netplan holds no YAML its boot-time generator renders no network configuration (only an Open vSwitch
  # clean-up unit that needs ovs-vsctl); ifupdown's postinst only creates an /etc/network/interfaces that sources
  # the empty interfaces.d and enables (does not start) networking.service, whose `ifup -a` then brings up lo
  # alone; its udev hook acts only on allow-hotplug stanzas.
  netplan.io                         # netplan generate renders the tool's netplan YAML for systemd-networkd
  ifupdown                           # ifup/ifdown bring up the tool's /etc/network/interfaces.d stanzas
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "setup: building (tsc) and the embedded ESX host (go)"
npx tsc -p tsconfig.json
bash sim/esx/build.sh

bash scripts/pulumi-cli.sh

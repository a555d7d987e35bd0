#!/usr/bin/env bash
# Builds the embedded ESX simulator (sim/esx/bin/esxsim) from Debian's govmomi (GOPATH mode, no network).
# Skips the build when the binary is newer than every .go file in sim/esx.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$here/bin/esxsim"
if [[ -x "$bin" && "${1:-}" != "-f" ]]; then
  newer="$(find "$here" -maxdepth 1 -name '*.go' ! -name '*_test.go' -newer "$bin" -print -quit)"
  [[ -z "$newer" ]] && exit 0
fi
mkdir -p "$here/bin"
export GO111MODULE=off GOPATH=/usr/share/gocode
export GOCACHE="${GOCACHE:-$here/.gocache}"
cd "$root"
go build -o "$bin.tmp.$$" ./sim/esx
mv -f "$bin.tmp.$$" "$bin"

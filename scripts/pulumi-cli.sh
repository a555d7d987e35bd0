#!/usr/bin/env bash
# The Pulumi CLI the demo and the program-level tests run (scripts/lib/pulumi.ts finds it the same way):
#   1. a `pulumi` on PATH of the pinned line (v3.248.x) is used as it is: nothing is built;
#   2. else .cli/bin/pulumi, when it already reports the pinned version;
#   3. else it is built from tools/pulumi-cli (a module of ours that requires github.com/pulumi/pulumi/pkg/v3 at
#      the pinned tag; go.sum committed) with Go >= 1.25, into .cli/bin (gitignored). The Go module and build
#      caches are Go's defaults (GOMODCACHE, GOCACHE), so they survive between runs: first build about 4 min
#      (1.5 GB of modules downloaded), a rebuild from the caches about 6 s.
# In every case .cli/bin gets pulumi-resource-pulumi-nodejs, @pulumi/pulumi's dynamic-provider plugin launcher,
# which the engine looks for beside `pulumi` or on PATH (tests and the demo put .cli/bin first on PATH).
# The Node.js language host (pulumi-language-nodejs) is not built: the Go module proxy refuses its module
# (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3), so programs run as Automation API
# inline programs (scripts/lib/pulumi-runner.ts), which serve the language runtime from @pulumi/pulumi.
set -euo pipefail
cd "$(dirname "$0")/.."

PINNED="$(sed -n 's#^\s*require github.com/pulumi/pulumi/pkg/v3 \(v[0-9.]*\).*#\1#p; s#^\s*github.com/pulumi/pulumi/pkg/v3 \(v[0-9.]*\).*#\1#p' tools/pulumi-cli/go.mod | head -1)"
LINE="${PINNED%.*}."   # v3.248.
BIN=.cli/bin

mkdir -p "$BIN"
ln -sfn ../../node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs "$BIN/pulumi-resource-pulumi-nodejs"

version_of() { PULUMI_SKIP_UPDATE_CHECK=true "$1" version 2>/dev/null || true; }

if command -v pulumi >/dev/null 2>&1 && [[ "$(command -v pulumi)" != "$PWD/$BIN/pulumi" ]]; then
  v="$(version_of pulumi)"
  if [[ "$v" == "$LINE"* ]]; then
    echo "setup: using pulumi $v from PATH ($(command -v pulumi))"
    exit 0
  fi
  echo "setup: pulumi on PATH is ${v:-unusable}, not $LINE*: building $PINNED into $BIN"
fi
if [[ -x "$BIN/pulumi" && "$(version_of "$BIN/pulumi")" == "$PINNED" ]]; then
  exit 0
fi

GO=""
for g in /usr/local/go/bin/go "$(command -v go || true)"; do
  [[ -x "$g" ]] || continue
  minor="$("$g" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
  if [[ -n "$minor" && "$minor" -ge 25 ]]; then GO="$g"; break; fi
done
if [[ -z "$GO" ]]; then
  echo "setup: building the Pulumi CLI needs Go >= 1.25 (found none; /usr/local/go/bin/go or go on PATH)" >&2
  exit 1
fi

echo "setup: building the Pulumi CLI $PINNED with $("$GO" env GOVERSION) into $BIN (first time: several minutes)"
start=$SECONDS
(
  cd tools/pulumi-cli
  GOFLAGS=-mod=readonly "$GO" build -o "../../$BIN/pulumi.tmp.$$" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PINNED" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
)
mv -f "$BIN/pulumi.tmp.$$" "$BIN/pulumi"
echo "setup: pulumi $(version_of "$BIN/pulumi") built in $((SECONDS - start)) s"

#!/usr/bin/env bash
# tools/world/build.sh — builds the real components of the test world (issue 16) from their pinned Go modules into a
# cache, rebuilding only a component whose pin changed.
#
#   tools/world/build.sh [NAME...]  build what is missing (only the named components if given); print the bin directory
#                                   (symlinks to every built binary)
#   tools/world/build.sh --check    build nothing; print the bin directory and exit 0 if complete, else exit 1
#   tools/world/build.sh --list     print each component, its pin hash and whether it is built
#
# Each upstream has its own wrapper module here (go.mod repeats the upstream's `replace` directives, which Go ignores in
# a dependency, so plain `go install …@version` fails). A component's pin hash covers its wrapper (go.mod, go.sum,
# tools.go), its build line below and `go version`; its binaries live in $CACHE/<component>-<hash>/. The world's bin
# directory $CACHE/world-<hash of all pins>/ holds symlinks to the current build of each, so two worktrees with
# different pins never see each other's binaries. Progress goes to stderr, the bin directory to stdout.
#
# CACHE defaults to ${XDG_CACHE_HOME:-~/.cache}/kubectl-prom-world (KUBE_SIM_WORLD_CACHE overrides). Go's own module
# and build caches (GOMODCACHE, GOCACHE) do the rest of the work on a warm machine.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${KUBE_SIM_WORLD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-prom-world}
mode=build
only=()
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --list) mode=list ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
    *) only+=("$arg") ;;
  esac
done

command -v go >/dev/null || { echo "build.sh: no 'go' on PATH (Go 1.26 is needed)" >&2; exit 1; }
gover=$(go env GOVERSION)
stamp=$(date -u +%Y%m%d-%H:%M:%S)

# One line per component: name | wrapper dir | build tags | ldflags | packages | binaries it produces.
# Versions in ldflags must match the wrapper's go.mod (the hash covers both, a mismatch is a review finding).
# - Kubernetes: component-base/version is what /version and --version report (hack/lib/version.sh sets the same vars).
# - Prometheus: module v0.316.0 is Prometheus 3.16.0 (its VERSION file); no `builtinassets` (the UI needs an npm build
#   that is not in the module: the UI 404s, the API and /-/reload work); remove_all_sd + enable_kubernetes_sd keep
#   Kubernetes service discovery only (plugins/plugin_kubernetes.go). Its .promu.yml sets the same version vars.
# - prometheus-operator: Makefile GO_BUILD_LDFLAGS sets prometheus/common/version.* the same way.
# - etcd: its version is a constant in go.etcd.io/etcd/api/v3/version; GitSHA has no truthful value (no commit in the
#   module zip), so it is left at etcd's own "Not provided" text.
# No revision is set anywhere: the module proxy serves no commit hash, and `go version -m` shows the module versions.
k8s_ver=v1.36.3
components=(
  "kubernetes|k8s||-s -w -X k8s.io/component-base/version.gitVersion=$k8s_ver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 -X k8s.io/component-base/version.buildDate=$stamp -X k8s.io/client-go/pkg/version.gitVersion=$k8s_ver -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=36|k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl|kube-apiserver kube-controller-manager kube-scheduler kubectl"
  "etcd|etcd||-s -w|go.etcd.io/etcd/server/v3|server:etcd"
  "prometheus|prometheus|remove_all_sd,enable_kubernetes_sd|-s -w -X github.com/prometheus/common/version.Version=3.16.0 -X github.com/prometheus/common/version.Branch=v3.16.0 -X github.com/prometheus/common/version.BuildUser=kubectl-prom-world -X github.com/prometheus/common/version.BuildDate=$stamp|github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool|prometheus promtool"
  "operator|operator||-s -w -X github.com/prometheus/common/version.Version=0.85.0 -X github.com/prometheus/common/version.Branch=v0.85.0 -X github.com/prometheus/common/version.BuildUser=kubectl-prom-world -X github.com/prometheus/common/version.BuildDate=$stamp|github.com/prometheus-operator/prometheus-operator/cmd/operator github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader|operator prometheus-config-reloader"
  "configmap-reload|configmap-reload||-s -w|github.com/jimmidyson/configmap-reload|configmap-reload"
)

# The pin hash of a component: its wrapper files, its build line without the build date, the Go version.
pin_hash() {
  local line=$1 dir
  IFS='|' read -r _ dir _ _ _ _ <<<"$line"
  { cat "$here/$dir/go.mod" "$here/$dir/go.sum" "$here/$dir/tools.go"; echo "${line//$stamp/}"; echo "$gover"; } |
    sha256sum | cut -c1-16
}

# Binary names: "a b" or, where `go build` names the output after the last path element, "element:wanted".
out_names() { local b; for b in $1; do echo "${b##*:}"; done; }

all_hash=$(for c in "${components[@]}"; do pin_hash "$c"; done | sha256sum | cut -c1-16)
world="$cache/world-$all_hash"
missing=0
mkdir -p "$cache"
for c in "${components[@]}"; do
  IFS='|' read -r name dir tags ldflags pkgs bins <<<"$c"
  h=$(pin_hash "$c")
  out="$cache/$name-$h"
  complete=1
  for b in $(out_names "$bins"); do [[ -x "$out/$b" ]] || complete=0; done
  if [[ $mode == list ]]; then
    printf '%-18s %s %s\n' "$name" "$h" "$([[ $complete == 1 ]] && echo built || echo missing)"
    continue
  fi
  if [[ $complete == 0 && $mode == check ]]; then
    echo "build.sh: $name is not built (pin $h); run tools/world/build.sh" >&2
    missing=1
    continue
  fi
  if [[ $complete == 0 && ${#only[@]} -gt 0 && " ${only[*]} " != *" $name "* ]]; then
    missing=1
    continue
  fi
  if [[ $complete == 0 ]]; then
    echo "build.sh: building $name (pin $h); log: $out.log" >&2
    rm -rf "$out.tmp" && mkdir -p "$out.tmp"
    t0=$(date +%s)
    # -o DIR/ names each binary after its package. No -trimpath: it changes every package's build-cache key, so a
    # build made by hand with the same flags (or an older checkout) would be compiled again.
    # GNU time (when installed) records the CPU seconds too: wall time on a shared 2-core machine says little.
    timer=()
    [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f 'CPU: %U s user, %S s sys' -o "$out.tmp.cpu")
    if ! (cd "$here/$dir" && nice -n 10 "${timer[@]}" go build ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$out.tmp/" $pkgs) \
      >"$out.log" 2>&1; then
      echo "build.sh: building $name failed; the last lines of $out.log:" >&2
      tail -20 "$out.log" >&2
      exit 1
    fi
    for b in $bins; do [[ $b == *:* ]] && mv "$out.tmp/${b%%:*}" "$out.tmp/${b##*:}"; done
    rm -rf "$out" && mv "$out.tmp" "$out"
    echo "build.sh: built $name in $(($(date +%s) - t0)) s$(cat "$out.tmp.cpu" 2>/dev/null | sed 's/^/ — /')" >&2
    rm -f "$out.tmp.cpu"
  fi
  mkdir -p "$world"
  for b in $(out_names "$bins"); do ln -sfn "$out/$b" "$world/$b"; done
done
[[ $mode == list ]] && exit 0
if [[ $missing == 1 ]]; then
  [[ $mode == build ]] && echo "build.sh: not every component is built (only ${only[*]} asked for)" >&2
  exit 1
fi
echo "$world"

#!/usr/bin/env bash
# Build and package kubectl-prom for one platform:
#   dist/kubectl-prom_v<version>_<os>_<arch>.tar.gz  (kubectl-prom[.exe], LICENSE, README.md, completions/)
#   dist/kubectl-prom_v<version>_<os>_<arch>.tar.gz.sha256  ("<sum>  <file>", as sha256sum writes it)
# and print the archive's path on stdout.
#
# Usage: scripts/package.sh [--target TRIPLE] [--binary PATH] [--os OS --arch ARCH] [--out DIR] [--version X.Y.Z]
#   --target   Rust target triple to build with `cargo build --release --locked` (default: the host's)
#   --binary   package this already-built executable instead of building (tests use the debug binary)
#   --os/--arch  krew platform labels (default: derived from the target triple)
#   --out      output directory (default: dist/)
#   --version  version without the leading v (default: the [package] version in Cargo.toml)
set -euo pipefail
cd "$(dirname "$0")/.."

target="" binary="" os="" arch="" out="dist" version=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --os) os="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    *) echo "package.sh: unknown argument $1 (see the usage at the top of the script)" >&2; exit 2 ;;
  esac
done

[ -n "$version" ] || version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
version="${version#v}"
[ -n "$version" ] || { echo "package.sh: no version in Cargo.toml; pass --version" >&2; exit 2; }
[ -n "$target" ] || target="$(rustc -vV | sed -n 's/^host: //p')"

# krew's platform labels from the Rust target triple.
if [ -z "$os" ]; then
  case "$target" in
    *-linux-*) os=linux ;;
    *-apple-darwin) os=darwin ;;
    *-windows-*) os=windows ;;
    *) echo "package.sh: no krew os for target $target; pass --os" >&2; exit 2 ;;
  esac
fi
if [ -z "$arch" ]; then
  case "$target" in
    x86_64-*) arch=amd64 ;;
    aarch64-*) arch=arm64 ;;
    *) echo "package.sh: no krew arch for target $target; pass --arch" >&2; exit 2 ;;
  esac
fi
exe=""
[ "$os" = windows ] && exe=".exe"

if [ -z "$binary" ]; then
  cargo build --release --locked --target "$target" >&2
  binary="target/$target/release/kubectl-prom$exe"
fi
[ -f "$binary" ] || { echo "package.sh: $binary does not exist" >&2; exit 2; }

name="kubectl-prom_v${version}_${os}_${arch}"
stage="$(mktemp -d)"
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/kubectl-prom$exe"
chmod 0755 "$stage/kubectl-prom$exe"
cp LICENSE README.md "$stage/"
mkdir -p "$stage/completions"
cp completions/* "$stage/completions/"
chmod 0755 "$stage/completions/kubectl_complete-prom"

mkdir -p "$out"
archive="$out/$name.tar.gz"
# Reproducible where GNU tar is available (Linux, and gtar on the macOS runners); plain tar elsewhere.
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@${SOURCE_DATE_EPOCH:-0}" \
    -C "$stage" -cf - . | gzip -n -9 > "$archive"
else
  tar -C "$stage" -cf - . | gzip -n -9 > "$archive"
fi

if command -v sha256sum >/dev/null 2>&1; then
  sum="$(sha256sum "$archive" | cut -d' ' -f1)"
else
  sum="$(shasum -a 256 "$archive" | cut -d' ' -f1)"
fi
printf '%s  %s\n' "$sum" "$name.tar.gz" > "$archive.sha256"
echo "$archive"

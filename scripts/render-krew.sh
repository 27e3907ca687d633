#!/usr/bin/env bash
# Render the krew manifest for a release from the template krew/prom.yaml and the real sha256 sums of the built
# archives (dist/*.tar.gz.sha256 written by scripts/package.sh). The template is also what krew-release-bot renders
# on a tag: `{{ .TagName }}` and `{{addURIAndSha "URL" .TagName }}` mean the same here as there.
#
# Usage: scripts/render-krew.sh VERSION [--dist DIR] [--out FILE]
#   VERSION  v0.1.0 or 0.1.0 (krew wants the leading v; it is added when missing)
#   --dist   where the archives and their .sha256 files are (default: dist/)
#   --out    the rendered manifest (default: DIST/prom.yaml; krew requires the file name to equal metadata.name)
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { echo "usage: scripts/render-krew.sh VERSION [--dist DIR] [--out FILE]" >&2; exit 2; }
tag="v${1#v}"
shift
dist="dist" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) dist="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "render-krew.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out="$dist/prom.yaml"

rendered="$(mktemp)"
trap 'rm -f "$rendered"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
  line="${line//\{\{ .TagName \}\}/$tag}"
  if [[ "$line" =~ ^([[:space:]]*)\{\{[[:space:]]*addURIAndSha[[:space:]]+\"([^\"]+)\"[[:space:]]+\.TagName[[:space:]]*\}\}[[:space:]]*$ ]]; then
    indent="${BASH_REMATCH[1]}"
    uri="${BASH_REMATCH[2]}"
    file="$dist/${uri##*/}.sha256"
    [ -f "$file" ] || { echo "render-krew.sh: $file is missing: package that platform first (scripts/package.sh)" >&2; exit 1; }
    sum="$(cut -d' ' -f1 < "$file")"
    [[ "$sum" =~ ^[a-f0-9]{64}$ ]] || { echo "render-krew.sh: $file does not hold a sha256 sum" >&2; exit 1; }
    printf '%suri: %s\n%ssha256: %s\n' "$indent" "$uri" "$indent" "$sum" >> "$rendered"
  else
    printf '%s\n' "$line" >> "$rendered"
  fi
done < krew/prom.yaml
if grep -n '{{' "$rendered" >&2; then
  echo "render-krew.sh: template expressions left unrendered (above)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$rendered" "$out"
echo "$out"

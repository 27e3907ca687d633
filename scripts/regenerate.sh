#!/usr/bin/env bash
# Regenerate the committed, generated files from the CLI definition (src/cli.rs): the shell completion scripts in
# completions/ and the man pages in man/. CI fails (tests/completion.rs, tests/distribution.rs) when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
KUBECTL_PROM_REGENERATE=1 cargo test --locked --test completion --test distribution -- generated_
git status --short completions/ man/

#!/usr/bin/env bash
# The site's diagrams need mermaid.js. Material would fetch it from a CDN at page load; we ship it
# with the site instead (from the npm registry, once), so pages render offline too.
set -euo pipefail
cd "$(dirname "$0")/.."
target=docs/assets/javascripts/mermaid.min.js
version=11.9.0
[ -f "$target" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "npm is needed once to fetch mermaid.js (Debian: apt-get install npm)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "mermaid@$version" --silent >/dev/null 2>&1)
mkdir -p "$(dirname "$target")"
tar -xzf "$tmp/mermaid-$version.tgz" -C "$tmp" package/dist/mermaid.min.js
mv "$tmp/package/dist/mermaid.min.js" "$target"
echo "fetched mermaid $version"

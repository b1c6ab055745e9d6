#!/usr/bin/env bash
# Build the vistack vCenter simulator launcher (tools/vcsim/*.go) from Debian
# packages only: no Go module proxy, no network once the packages are in.
#
#   bash tools/vcsim/build.sh          # prints the binary path as its last stdout line
#
# Idempotent: installs golang-go and golang-github-vmware-govmomi-dev with apt
# when missing, and rebuilds only when the sources (or the toolchain/govmomi
# package versions) changed since the last build. Progress goes to stderr so a
# caller can take the path with `$(bash tools/vcsim/build.sh | tail -n1)`.
#
# Environment:
#   VISTACK_VCSIM_CACHE  cache dir (default $XDG_CACHE_HOME/vistack/vcsim or
#                        ~/.cache/vistack/vcsim); holds the binary and GOCACHE
#   VISTACK_VCSIM_FORCE  set to 1 to rebuild even when up to date
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VISTACK_VCSIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vistack/vcsim}
bin=$cache/vistack-vcsim
stamp=$cache/vistack-vcsim.sha256
pkgs=(golang-go golang-github-vmware-govmomi-dev)

log() { printf 'vcsim build: %s\n' "$*" >&2; }

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for p in "${pkgs[@]}"; do
    installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The gocode dir is wherever the -dev package put its sources (/usr/share/gocode
# on Debian 12); derive it instead of hard-coding so another layout still works.
govmomi_src=$(dpkg -L golang-github-vmware-govmomi-dev |
    grep -m1 '/src/github\.com/vmware/govmomi$' || true)
if [ -z "$govmomi_src" ]; then
    log "cannot find github.com/vmware/govmomi in 'dpkg -L golang-github-vmware-govmomi-dev'"
    exit 1
fi
gocode=${govmomi_src%/src/github.com/vmware/govmomi}

go=$(command -v go || true)
if [ -z "$go" ]; then
    go=/usr/lib/go/bin/go # golang-go's target when /usr/bin is not on PATH
fi

mkdir -p "$cache/gopath" "$cache/gocache" "$cache/tmp"

# One build at a time per cache dir: parallel test workers may all call this.
exec 9>"$cache/.lock"
flock 9

# What the binary depends on: our sources, this script, the Go toolchain and the
# govmomi package version. A change in any of them changes the hash.
srcs=("$here"/*.go "$here/build.sh")
want=$(
    {
        for f in "${srcs[@]}"; do
            printf '%s\n' "${f##*/}"
            cat "$f"
        done
        "$go" version
        dpkg-query -W -f='${Version}\n' golang-github-vmware-govmomi-dev
    } | sha256sum | cut -d' ' -f1
)

fresh=1
if [ "${VISTACK_VCSIM_FORCE:-0}" = 1 ] || [ ! -x "$bin" ] || [ ! -f "$stamp" ]; then
    fresh=0
elif [ "$(cat "$stamp")" != "$want" ]; then
    fresh=0
else
    for f in "${srcs[@]}"; do
        if [ "$f" -nt "$bin" ]; then
            fresh=0
            break
        fi
    done
fi

if [ "$fresh" = 1 ]; then
    log "up to date"
else
    log "building with $("$go" version) against $gocode"
    start=$EPOCHREALTIME
    # GOPATH mode: the Debian packages are a GOPATH tree, not modules.
    # GOFLAGS/GOPROXY are cleared so a developer's settings cannot make go
    # reach for the network; TMPDIR keeps go's work dirs beside the cache.
    (
        cd "$here"
        env GO111MODULE=off GOFLAGS= GOPROXY=off GOTOOLCHAIN=local \
            GOPATH="$gocode:$cache/gopath" GOCACHE="$cache/gocache" \
            TMPDIR="$cache/tmp" CGO_ENABLED=0 \
            "$go" build -trimpath -ldflags "-s -w" -o "$bin.new" .
    ) >&2
    mv -f "$bin.new" "$bin"
    printf '%s\n' "$want" >"$stamp"
    log "built $bin in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
fi

printf '%s\n' "$bin"

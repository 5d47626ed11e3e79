#!/usr/bin/env bash
# System dependencies for the on-prem emulators. Run as root (directly or via sudo); safe to re-run.
#  - libvirt-dev + pkg-config: libvirt-python (the `libvirt` extra) compiles against them.
#  - postgresql: the PostgreSQL team-cache tests start a throw-away cluster (tests/pg_cluster.py) as the
#    package's `postgres` user.
#  - golang-go + golang-github-vmware-govmomi-dev: vcsim built offline from Debian's govmomi
#    sources (the package ships simulator/ but no vcsim main, so we build our own).
# Then: build vcsim into ${VMWB_VCSIM_BIN:-$HOME/.cache/vmwb/vcsim} unless it is up to date.
# Under sudo, the binary and the venv belong to the invoking user and use their $HOME.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vcsim_src="$repo_root/workbench/emulators/vcsim_main.go"

invoker=""
user_home="$HOME"
if [[ -n "${SUDO_USER:-}" && "${SUDO_USER}" != root ]]; then
    invoker="$SUDO_USER"
    user_home="$(getent passwd "$invoker" | cut -d: -f6)"
fi
as_user() {
    if [[ -n "$invoker" ]]; then runuser -u "$invoker" -- env "HOME=$user_home" "PATH=$PATH" "$@"; else "$@"; fi
}
vcsim_bin="${VMWB_VCSIM_BIN:-$user_home/.cache/vmwb/vcsim}"

# --- Debian packages: one apt-get update, and only when something is missing.
packages=(libvirt-dev pkg-config postgresql golang-go golang-github-vmware-govmomi-dev)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${packages[@]}"
else
    echo "system packages already installed: ${packages[*]}"
fi

# --- vcsim: rebuild only when missing or older than its source (-nt is false for a missing file).
if [[ -x "$vcsim_bin" && "$vcsim_bin" -nt "$vcsim_src" ]]; then
    echo "vcsim up to date: $vcsim_bin"
else
    echo "building vcsim -> $vcsim_bin"
    build_dir="$(mktemp -d)"
    trap 'rm -rf "$build_dir"' EXIT
    cp "$vcsim_src" "$build_dir/main.go"
    # GOPATH mode against Debian's /usr/share/gocode: no module proxy, no network.
    # A throw-away GOCACHE: the build is rare (~15 s) and leaves nothing behind.
    (cd "$build_dir" &&
        GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$build_dir/cache" \
            go build -o vcsim main.go)
    as_user mkdir -p "$(dirname "$vcsim_bin")"
    install -m 0755 ${invoker:+-o "$invoker"} "$build_dir/vcsim" "$vcsim_bin"
fi

# The Python side (the libvirt extra compiled against libvirt-dev) is synced by tests/run.sh.

#!/usr/bin/env bash
# Build an emulated aarch64 (Raspberry Pi-class) Python 3.11 with a LiteRT/TFLite runtime.
#
#   .ci/arm64-env.sh DIR RUNTIME        RUNTIME = ai-edge-litert | tflite-runtime
#
# Afterwards DIR/python runs an aarch64 CPython 3.11 (Debian bookworm's) under qemu-user:
#   DIR/python script.py        DIR/python -m module        DIR/python -c '...'
# The caller's PYTHONPATH is appended after DIR/site (so `PYTHONPATH=$PWD DIR/python -m pkg`
# imports the project's pure-Python code). Do not put x86-64 site-packages on it.
#
# Layout of DIR (self-contained, relocatable; the download cache can be deleted afterwards):
#   DIR/python          wrapper script
#   DIR/qemu-aarch64    qemu-user 10.x from bookworm-backports (static; fakes an aarch64 /proc/cpuinfo)
#   DIR/root/           arm64 Debian bookworm files: python3.11 + the shared libraries it needs
#   DIR/site/           aarch64 wheels: numpy + RUNTIME + typer (and their dependencies)
#
# Why this way (docs/parity-arm64.md):
#   * Debian 12's qemu-user-static 7.2 passes the host's x86 /proc/cpuinfo through and
#     ai-edge-litert segfaults creating an Interpreter; qemu 10 from bookworm-backports works.
#     It is fetched with a private apt configuration: the system's apt setup is not changed.
#   * QEMU_CPU is always set (default cortex-a76 = Pi 5; EDGE_LSTM_QEMU_CPU=cortex-a72 = Pi 4).
#     qemu's `max` CPU advertises SME on qemu 7.2, and LiteRT's SME int8 kernels then give
#     silently wrong answers, so `max`/`host` are refused.
#
# Idempotent: every step is skipped when its result is already there; DIR/.complete records a
# finished build. Downloads are cached (arm64 .debs, the qemu binary, wheels, apt lists) in
#   ${EDGE_LSTM_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-lstm/arm64}
# so a rebuild from the cache needs no network. Concurrent runs are serialised by a lock there.
#
# Environment knobs:
#   EDGE_LSTM_ARM64_CACHE    cache folder (above)
#   EDGE_LSTM_DEBIAN_MIRROR  Debian mirror URI (default: the `/debian` URI in the system's apt sources)
#   EDGE_LSTM_QEMU_CPU       qemu CPU model baked into DIR/python (default cortex-a76)
#   EDGE_LSTM_ARM64_FORCE=1  redo the checks and the verification even if DIR/.complete says done
#   PYTHON311                host Python with pip (default: python3.11, else python3, on PATH)
# Needs: bash, apt-get, dpkg-deb, flock, a host Python with pip (python3.11 preferred), network
# access to a Debian mirror and PyPI (first run only). Works as root; as non-root too, as long as
# the cache and DIR are writable (apt runs with private state, lists and cache folders).
set -euo pipefail

SCRIPT_VERSION=1
PROG=arm64-env
die() { echo "$PROG: ERROR: $*" >&2; exit 1; }
log() { echo "$PROG: [${SECONDS}s] $*" >&2; }

usage() { echo "usage: $0 DIR ai-edge-litert|tflite-runtime" >&2; exit 2; }
[[ $# -eq 2 && -n "$1" ]] || usage
DIR=$1
RUNTIME=$2
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
DIR=${DIR%/}

# ---- configuration (pins) -----------------------------------------------------------------
case "$RUNTIME" in
  ai-edge-litert)
    REQS=("numpy==2.4.6" "ai-edge-litert==2.3.0" "typer>=0.12")
    MODULE=ai_edge_litert ;;
  tflite-runtime)
    REQS=("numpy==1.26.4" "tflite-runtime==2.14.0" "typer>=0.12")
    MODULE=tflite_runtime ;;
  *) die "RUNTIME must be 'ai-edge-litert' or 'tflite-runtime', not '$RUNTIME'" ;;
esac
# Target-platform tags for pip (a Pi running 64-bit Raspberry Pi OS bookworm has glibc 2.36).
PIP_TARGET=(--only-binary=:all: --python-version 3.11 --implementation cp
            --abi cp311 --abi abi3 --abi none
            --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64
            --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64
            --platform manylinux_2_34_aarch64 --platform linux_aarch64)
DEBS=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 libgcc-s1 libstdc++6
      libexpat1 zlib1g libffi8 libssl3 libbz2-1.0 liblzma5 libsqlite3-0 libncursesw6 libtinfo6
      libreadline8 libuuid1 libdb5.3 libcrypt1 libgomp1)
SUITE=bookworm          # the arm64 userland (Raspberry Pi OS bookworm is Python 3.11 too)
QEMU_SUITE=bookworm-backports
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
QEMU_CPU_MODEL=${EDGE_LSTM_QEMU_CPU:-cortex-a76}
case "$QEMU_CPU_MODEL" in
  max*|host*) die "EDGE_LSTM_QEMU_CPU=$QEMU_CPU_MODEL refused: qemu's max CPU advertises SME and LiteRT's int8 kernels then give silently wrong answers; use cortex-a76 (Pi 5) or cortex-a72 (Pi 4)" ;;
esac
CONFIG_ID="v$SCRIPT_VERSION runtime=$RUNTIME reqs=${REQS[*]} debs=$SUITE:${DEBS[*]} qemu=$QEMU_SUITE cpu=$QEMU_CPU_MODEL"

CACHE=${EDGE_LSTM_ARM64_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/edge-lstm/arm64}
case "$CACHE" in /*) ;; *) CACHE="$PWD/$CACHE" ;; esac

# ---- fast path ------------------------------------------------------------------------------
if [[ "${EDGE_LSTM_ARM64_FORCE:-0}" != 1 && -x "$DIR/python" && -f "$DIR/.complete" ]] \
   && [[ "$(cat "$DIR/.complete")" == "$CONFIG_ID" ]]; then
  log "already set up: $DIR ($RUNTIME); run with EDGE_LSTM_ARM64_FORCE=1 to re-check"
  exit 0
fi

# ---- preconditions --------------------------------------------------------------------------
for tool in apt-get dpkg-deb flock tar; do
  command -v "$tool" >/dev/null || die "'$tool' not found: this script needs a Debian-like host (apt-get, dpkg-deb, util-linux flock)"
done
[[ -r "$KEYRING" ]] || die "$KEYRING missing (apt-get install debian-archive-keyring)"

# Host Python used only to run pip (download aarch64 wheels, unpack them) and to pre-compile .pyc.
HOST_PY=
for cand in "${PYTHON311:-}" python3.11 python3; do
  p=$(command -v "$cand" 2>/dev/null || true)
  if [[ -n "$p" ]] && "$p" -m pip --version >/dev/null 2>&1; then HOST_PY=$p; break; fi
done
[[ -n "$HOST_PY" ]] || die "no host python3 with pip found (needed to download the aarch64 wheels)"
HOST_PY=$("$HOST_PY" -c 'import sys; print(sys.executable)')   # bypass pyenv shims (slow)
HOST_IS_311=0
"$HOST_PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' && HOST_IS_311=1

if [[ -e "$DIR" && ! -e "$DIR/.edge-lstm-arm64" && -n "$(ls -A "$DIR" 2>/dev/null)" ]]; then
  die "$DIR exists, is not empty and was not made by this script; refusing to write into it"
fi
mkdir -p "$DIR" "$CACHE" || die "cannot create $DIR or $CACHE"

exec 9>"$CACHE/.lock"
flock -w 1800 9 || die "timed out waiting for the lock $CACHE/.lock (another run?)"
touch "$DIR/.edge-lstm-arm64"
rm -f "$DIR/.complete"

TMP=$(mktemp -d "$CACHE/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# run CMD quietly; on failure print its output and die with MSG
quiet() {
  local msg=$1; shift
  if ! "$@" >"$TMP/out.log" 2>&1; then
    sed 's/^/    /' "$TMP/out.log" >&2
    die "$msg"
  fi
}

id_hash() { printf '%s\n' "v$SCRIPT_VERSION py311=$HOST_IS_311" "$1" | sha256sum | cut -c1-16; }
# save_built SRC DEST: keep a copy of a finished tree in the cache (best effort)
save_built() {
  rm -rf "$2.tmp"
  mkdir -p "${2%/*}"
  if cp -a "$1" "$2.tmp" 2>/dev/null; then rm -rf "$2"; mv "$2.tmp" "$2"; else rm -rf "$2.tmp"; fi
}

# ---- private apt (no change to the system's apt configuration) ------------------------------
APT="$CACHE/apt"
find_mirror() {
  local kind=$1 uri=  # kind: debian | debian-security
  uri=$( { grep -hs '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources || true; } \
         | sed 's/^[[:space:]]*URIs:[[:space:]]*//' | tr ' \t' '\n\n' \
         | grep -E "^[a-z+]+://.+/$kind/?\$" | head -n1 || true)
  if [[ -z "$uri" ]]; then
    uri=$( { grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list || true; } \
           | sed -E 's/\[[^]]*\]//' | awk '{print $2}' \
           | grep -E "^[a-z+]+://.+/$kind/?\$" | head -n1 || true)
  fi
  echo "${uri%/}"
}
APT_SETUP=0
APT_SOURCES_CHANGED=0
setup_apt() {   # (re)writes the private config each run, so EDGE_LSTM_DEBIAN_MIRROR changes apply
  [[ $APT_SETUP == 1 ]] && return 0
  APT_SETUP=1
  local mirror sec
  mirror=${EDGE_LSTM_DEBIAN_MIRROR:-$(find_mirror debian)}
  [[ -n "$mirror" ]] || mirror=http://deb.debian.org/debian
  sec=$(find_mirror debian-security)
  mkdir -p "$APT"/{parts,lists/partial,cache/archives/partial,state}
  : >"$APT/status"
  {
    for s in "$SUITE" "$SUITE-updates" "$QEMU_SUITE"; do
      echo "deb [signed-by=$KEYRING] $mirror $s main"
    done
    if [[ -n "$sec" ]]; then echo "deb [signed-by=$KEYRING] $sec $SUITE-security main"; fi
  } >"$APT/sources.list.new"
  if cmp -s "$APT/sources.list.new" "$APT/sources.list"; then
    rm -f "$APT/sources.list.new"
  else
    mv -f "$APT/sources.list.new" "$APT/sources.list"
    APT_SOURCES_CHANGED=1
  fi
  # APT_CONFIG is read before apt.conf.d; pointing Dir::Etc::Parts at an empty folder keeps the
  # system's hooks (appstream, packagekit, docker-clean, ...) out of these private runs.
  cat >"$APT/apt.conf" <<EOF
Dir::Etc::Parts "$APT/parts";
Dir::Etc::SourceList "$APT/sources.list";
Dir::Etc::SourceParts "$APT/parts";
Dir::Etc::Preferences "$APT/parts/none";
Dir::Etc::PreferencesParts "$APT/parts";
Dir::State "$APT/state";
Dir::State::Lists "$APT/lists";
Dir::State::status "$APT/status";
Dir::Cache "$APT/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Architecture "amd64";
APT::Architectures { "amd64"; "arm64"; };
APT::Sandbox::User "root";
Acquire::Check-Valid-Until "false";
Acquire::Check-Date "false";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::Retries "3";
EOF
  log "private apt sources: $mirror ($SUITE, $SUITE-updates, $QEMU_SUITE${sec:+, security})"
}
apt_private() { APT_CONFIG="$APT/apt.conf" apt-get -q -y "$@"; }
APT_UPDATED=0
apt_update() {
  [[ $APT_UPDATED == 1 ]] && return 0
  setup_apt
  log "apt-get update (private lists in $APT)"
  quiet "apt-get update failed for the private sources in $APT/sources.list (is the Debian mirror reachable? set EDGE_LSTM_DEBIAN_MIRROR)" \
    apt_private update --error-on=any
  APT_UPDATED=1
}
# apt_download DEST PKG...: download .debs into DEST; refresh the lists once on failure
apt_download() {
  local dest=$1; shift
  setup_apt
  if [[ $APT_SOURCES_CHANGED == 1 ]] || ! compgen -G "$APT/lists/*Packages*" >/dev/null \
     || [[ -n "$(find "$APT/lists" -maxdepth 1 -name '*Packages*' -mmin +1440 -print -quit)" ]]; then
    apt_update
  fi
  if ! (cd "$dest" && apt_private download "$@") >"$TMP/out.log" 2>&1; then
    if [[ $APT_UPDATED == 0 ]]; then
      apt_update
      (cd "$dest" && apt_private download "$@") >"$TMP/out.log" 2>&1 && return 0
    fi
    sed 's/^/    /' "$TMP/out.log" >&2
    die "apt-get download $* failed"
  fi
}

# ---- 1. qemu-aarch64 from bookworm-backports -------------------------------------------------
qemu_ok() {  # qemu >= 8 fakes /proc/cpuinfo for the guest
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/^qemu-aarch64 version \([0-9]*\)\..*/\1/p' | head -n1)
  [[ -n "$v" && "$v" -ge 8 ]]
}
QEMU_CACHED="$CACHE/qemu/qemu-aarch64"
if ! qemu_ok "$QEMU_CACHED"; then
  log "fetching qemu-user from $QEMU_SUITE"
  mkdir -p "$CACHE/qemu" "$TMP/qemu"
  apt_download "$TMP/qemu" "qemu-user/$QEMU_SUITE"
  deb=$(ls "$TMP"/qemu/qemu-user_*.deb 2>/dev/null | head -n1 || true)
  [[ -n "$deb" ]] || die "qemu-user .deb not downloaded"
  quiet "could not unpack $deb" \
    bash -c 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" ./usr/bin/qemu-aarch64' _ "$deb" "$TMP/qemu"
  qemu_ok "$TMP/qemu/usr/bin/qemu-aarch64" || die "the downloaded qemu-aarch64 does not run or is older than 8.0"
  mv -f "$TMP/qemu/usr/bin/qemu-aarch64" "$QEMU_CACHED"
  rm -rf "$TMP/qemu"
fi
if ! cmp -s "$QEMU_CACHED" "$DIR/qemu-aarch64"; then
  cp -f "$QEMU_CACHED" "$DIR/qemu-aarch64.tmp" && mv -f "$DIR/qemu-aarch64.tmp" "$DIR/qemu-aarch64"
fi
log "qemu: $("$DIR/qemu-aarch64" --version | head -n1)"

# ---- 2. arm64 Python 3.11 userland ------------------------------------------------------------
DEBDIR="$CACHE/debs-$SUITE-arm64"
mkdir -p "$DEBDIR"
cached_deb() { ls "$DEBDIR/$1"_*_arm64.deb 2>/dev/null | sort -V | tail -n1 || true; }
missing=()
for p in "${DEBS[@]}"; do [[ -n "$(cached_deb "$p")" ]] || missing+=("$p:arm64"); done
if ((${#missing[@]})); then
  log "downloading ${#missing[@]} arm64 .debs"
  apt_download "$DEBDIR" "${missing[@]}"
fi
debfiles=()
for p in "${DEBS[@]}"; do
  f=$(cached_deb "$p"); [[ -n "$f" ]] || die "arm64 package $p missing from $DEBDIR after download"
  debfiles+=("$f")
done
ROOT_ID=$(printf '%s\n' "${debfiles[@]##*/}")
BUILT_ROOT="$CACHE/built/root-$(id_hash "$ROOT_ID")"
if [[ ! -x "$DIR/root/usr/bin/python3.11" || "$(cat "$DIR/root/.debs" 2>/dev/null)" != "$ROOT_ID" ]]; then
  rm -rf "$DIR/root.tmp"
  if [[ -f "$BUILT_ROOT/.debs" ]]; then
    log "copying the cached arm64 root into $DIR/root"
    cp -a "$BUILT_ROOT" "$DIR/root.tmp"
  else
    log "unpacking ${#debfiles[@]} arm64 .debs into $DIR/root"
    mkdir -p "$DIR/root.tmp"
    for f in "${debfiles[@]}"; do
      quiet "dpkg-deb -x $f failed" dpkg-deb -x "$f" "$DIR/root.tmp"
    done
    [[ -x "$DIR/root.tmp/usr/bin/python3.11" ]] || die "python3.11 missing after unpacking the arm64 .debs"
    # Debian compiles .pyc at install time, dpkg-deb -x does not: compile them here with the host's
    # 3.11 (same bytecode format) so the first emulated start-up is not slowed by compiling.
    if [[ $HOST_IS_311 == 1 ]]; then
      "$HOST_PY" -m compileall -q -j0 "$DIR/root.tmp/usr/lib/python3.11" >/dev/null 2>&1 || true
    fi
    printf '%s\n' "$ROOT_ID" >"$DIR/root.tmp/.debs"
    save_built "$DIR/root.tmp" "$BUILT_ROOT"
  fi
  rm -rf "$DIR/root"
  mv "$DIR/root.tmp" "$DIR/root"
fi

# ---- 3. aarch64 wheels ---------------------------------------------------------------------
WHLDIR="$CACHE/wheels/$RUNTIME"
REQ_ID=$(printf '%s\n' "${REQS[@]}")
if [[ "$(cat "$WHLDIR/.reqs" 2>/dev/null)" != "$REQ_ID" ]] || ! compgen -G "$WHLDIR/*.whl" >/dev/null; then
  log "downloading aarch64 wheels: ${REQS[*]} (+ dependencies)"
  rm -rf "$WHLDIR.tmp"
  mkdir -p "$WHLDIR.tmp"
  quiet "pip download of the aarch64 wheels failed (${REQS[*]})" \
    env PIP_DISABLE_PIP_VERSION_CHECK=1 "$HOST_PY" -m pip download --no-input -q "${PIP_TARGET[@]}" \
      -d "$WHLDIR.tmp" "${REQS[@]}"
  printf '%s\n' "$REQ_ID" >"$WHLDIR.tmp/.reqs"
  rm -rf "$WHLDIR"
  mv "$WHLDIR.tmp" "$WHLDIR"
fi
wheels=("$WHLDIR"/*.whl)
SITE_ID=$(printf '%s\n' "${wheels[@]##*/}")
BUILT_SITE="$CACHE/built/site-$RUNTIME-$(id_hash "$SITE_ID")"
if [[ ! -d "$DIR/site" || "$(cat "$DIR/site/.wheels" 2>/dev/null)" != "$SITE_ID" ]]; then
  rm -rf "$DIR/site.tmp"
  if [[ -f "$BUILT_SITE/.wheels" ]]; then
    log "copying the cached aarch64 site folder into $DIR/site"
    cp -a "$BUILT_SITE" "$DIR/site.tmp"
  else
    log "installing ${#wheels[@]} wheels into $DIR/site"
    # --no-deps --no-index: exactly the cached, already-resolved set; pip unpacks the wheels
    # (incl. .data folders); a host 3.11 then writes .pyc the emulated 3.11 can use.
    quiet "unpacking the wheels into $DIR/site failed" \
      env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CONSTRAINT= PIP_FIND_LINKS= "$HOST_PY" -m pip install \
        --isolated --no-input -q --no-deps --no-index --no-compile "${PIP_TARGET[@]}" \
        --target "$DIR/site.tmp" "${wheels[@]}"
    rm -rf "$DIR/site.tmp/bin"   # console scripts with host shebangs: useless here
    if [[ $HOST_IS_311 == 1 ]]; then
      "$HOST_PY" -m compileall -q -j0 "$DIR/site.tmp" >/dev/null 2>&1 || true
    fi
    printf '%s\n' "$SITE_ID" >"$DIR/site.tmp/.wheels"
    save_built "$DIR/site.tmp" "$BUILT_SITE"
  fi
  rm -rf "$DIR/site"
  mv "$DIR/site.tmp" "$DIR/site"
fi

# ---- 4. the wrapper ----------------------------------------------------------------------
cat >"$DIR/python.tmp" <<EOF
#!/usr/bin/env bash
# Emulated aarch64 Python 3.11 with $RUNTIME (made by .ci/arm64-env.sh). Usage like python3.
# Extra PYTHONPATH entries from the caller are appended after the aarch64 site folder.
here=\$(dirname "\$(readlink -f "\${BASH_SOURCE[0]}")")
# cortex-a76 = Raspberry Pi 5. Never qemu's "max": it advertises SME and LiteRT's int8
# kernels then give silently wrong answers.
export QEMU_CPU=$QEMU_CPU_MODEL
export QEMU_LD_PREFIX="\$here/root"
# the environment is passed to the aarch64 guest: drop what would point it at host (x86) files
unset QEMU_GUEST_BASE QEMU_STRACE QEMU_UNAME LD_PRELOAD LD_LIBRARY_PATH PYTHONHOME PYTHONSTARTUP PYTHONEXECUTABLE
export PYTHONNOUSERSITE=1          # keep the host's ~/.local x86 packages out
export PYTHONPATH="\$here/site\${PYTHONPATH:+:\$PYTHONPATH}"
exec "\$here/qemu-aarch64" "\$here/root/usr/bin/python3.11" "\$@"
EOF
chmod +x "$DIR/python.tmp"
mv -f "$DIR/python.tmp" "$DIR/python"

# ---- 5. verify --------------------------------------------------------------------------------
log "verifying (emulated start-up takes a few seconds)"
CHECK="import platform, sys, numpy, typer
from $MODULE.interpreter import Interpreter
assert platform.machine() == 'aarch64', platform.machine()
print(platform.machine(), 'python', sys.version.split()[0], 'numpy', numpy.__version__, '$RUNTIME ok')"
if ! out=$(cd / && env -u PYTHONPATH "$DIR/python" -c "$CHECK" 2>&1); then
  echo "$out" | sed 's/^/    /' >&2
  die "the emulated python in $DIR cannot import $MODULE.interpreter (see above)"
fi
printf '%s\n' "$CONFIG_ID" >"$DIR/.complete"
log "ready: $DIR/python ($out)"

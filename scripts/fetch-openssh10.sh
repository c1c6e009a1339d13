#!/usr/bin/env bash
# Fetches OpenSSH 10 (ssh client and sshd) from Debian trixie with the shared libraries they need, unpacked
# into a cache directory (default .peers/openssh10), and writes <dir>/ssh: a wrapper that runs that ssh with
# trixie's own dynamic loader and libraries, so it works on an older Debian without installing anything;
# likewise <dir>/sshd, <dir>/sshd-session and <dir>/sshd-auth (an sshd_config must name the last two in
# SshdSessionPath and SshdAuthPath, since sshd runs them by path).
# Idempotent: does nothing when <dir>/ssh reports OpenSSH_10 and <dir>/sshd exists. Used by the ML-KEM
# interop test and the native-peers matrix (test/helpers/native-peers-openssh.ts).
set -euo pipefail

DIR="${1:-.peers/openssh10}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=trixie
ARCH=amd64

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

if [ -x "$DIR/ssh" ] && [ -x "$DIR/sshd" ] && "$DIR/ssh" -V 2>&1 | grep -q '^OpenSSH_10'; then
  echo "fetch-openssh10: cached: $("$DIR/ssh" -V 2>&1)"
  exit 0
fi

if [ "$(uname -m)" != x86_64 ]; then
  echo "fetch-openssh10: only x86_64 is supported (this is $(uname -m))" >&2
  exit 1
fi

fetch() { # url dest
  curl -fsSL --retry 4 --retry-delay 2 --retry-all-errors --connect-timeout 10 --max-time 120 -o "$2.part" "$1"
  mv "$2.part" "$2"
}

DEBS="$DIR/debs"
mkdir -p "$DEBS"
echo "fetch-openssh10: reading the $SUITE package index"
fetch "$MIRROR/dists/$SUITE/main/binary-$ARCH/Packages.xz" "$DEBS/Packages.xz"
xz -dc "$DEBS/Packages.xz" >"$DEBS/Packages"

# One "name filename sha256 depends" line per package, for the names we may need.
awk -v RS= -F'\n' '{
  name = ""; file = ""; sum = ""; dep = ""
  for (i = 1; i <= NF; i++) {
    if ($i ~ /^Package: /) name = substr($i, 10)
    else if ($i ~ /^Filename: /) file = substr($i, 11)
    else if ($i ~ /^SHA256: /) sum = substr($i, 9)
    else if ($i ~ /^(Pre-)?Depends: /) { sub(/^(Pre-)?Depends: /, "", $i); dep = dep (dep == "" ? "" : ", ") $i }
  }
  gsub(/ /, "", dep)
  if (name != "") print name, file, sum, (dep == "" ? "-" : dep)
}' "$DEBS/Packages" >"$DEBS/index"

lookup() { awk -v n="$1" '$1 == n { print; exit }' "$DEBS/index"; }

# openssh-client and openssh-server plus the transitive closure of their library dependencies (lib*,
# zlib1g); the first alternative of each dependency is taken, version constraints are ignored (the index
# has one version).
want=(openssh-client openssh-server)
declare -A seen=()
i=0
while [ "$i" -lt "${#want[@]}" ]; do
  pkg="${want[$i]}"
  i=$((i + 1))
  [ -n "${seen[$pkg]:-}" ] && continue
  seen[$pkg]=1
  line="$(lookup "$pkg")"
  if [ -z "$line" ]; then
    echo "fetch-openssh10: package $pkg not found in the $SUITE index" >&2
    exit 1
  fi
  deps="$(echo "$line" | awk '{ print $4 }')"
  [ "$deps" = "-" ] && continue
  IFS=',' read -ra parts <<<"$deps"
  for d in "${parts[@]}"; do
    d="${d%%|*}"
    d="${d%%(*}"
    d="${d%%:*}"
    case "$d" in lib* | zlib1g) want+=("$d") ;; esac
  done
done

echo "fetch-openssh10: ${#seen[@]} packages: ${!seen[*]}"
ROOT="$DIR/root.new"
rm -rf "$ROOT"
mkdir -p "$ROOT"
for pkg in "${!seen[@]}"; do
  read -r _ file sum _ <<<"$(lookup "$pkg")"
  deb="$DEBS/$(basename "$file")"
  if [ ! -f "$deb" ] || ! echo "$sum  $deb" | sha256sum -c --quiet - >/dev/null 2>&1; then
    fetch "$MIRROR/$file" "$deb"
    if ! echo "$sum  $deb" | sha256sum -c --quiet -; then
      echo "fetch-openssh10: checksum mismatch for $file" >&2
      rm -f "$deb"
      exit 1
    fi
  fi
  dpkg-deb -x "$deb" "$ROOT"
done

rm -rf "$DIR/root"
mv "$ROOT" "$DIR/root"
rm -f "$DEBS/Packages" "$DEBS/index"

loader=usr/lib64/ld-linux-x86-64.so.2
[ -e "$DIR/root/$loader" ] || loader=lib64/ld-linux-x86-64.so.2
if [ ! -e "$DIR/root/$loader" ]; then
  echo "fetch-openssh10: no dynamic loader in the unpacked libc6" >&2
  exit 1
fi

wrap() { # name path-in-root
  cat >"$DIR/$1.new" <<WRAP
#!/bin/sh
# OpenSSH 10 from Debian $SUITE, run with its own loader and libraries (written by scripts/fetch-openssh10.sh).
R="$DIR/root"
exec "\$R/$loader" --library-path "\$R/lib/x86_64-linux-gnu:\$R/usr/lib/x86_64-linux-gnu" "\$R/$2" "\$@"
WRAP
  chmod +x "$DIR/$1.new"
  mv "$DIR/$1.new" "$DIR/$1"
}
wrap sshd usr/sbin/sshd
wrap sshd-session usr/lib/openssh/sshd-session
wrap sshd-auth usr/lib/openssh/sshd-auth
wrap ssh usr/bin/ssh

version="$("$DIR/ssh" -V 2>&1)"
case "$version" in
  OpenSSH_10*) ;;
  *)
    echo "fetch-openssh10: unexpected version: $version" >&2
    exit 1
    ;;
esac
if ! "$DIR/ssh" -Q kex | grep -qx 'mlkem768x25519-sha256'; then
  echo "fetch-openssh10: $version does not list mlkem768x25519-sha256" >&2
  exit 1
fi
if ! "$DIR/sshd" -V 2>&1 | grep -q '^OpenSSH_10'; then
  echo "fetch-openssh10: $DIR/sshd does not run: $("$DIR/sshd" -V 2>&1)" >&2
  exit 1
fi
echo "fetch-openssh10: ready: $DIR/ssh and $DIR/sshd ($version)"

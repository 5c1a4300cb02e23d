#!/usr/bin/env bash
# Installs a released clinic binary: picks the archive that the release workflow (dist, see
# dist-workspace.toml) made for this machine, verifies its SHA-256 against the .sha256 file
# published beside it, and unpacks `clinic` into a folder. The setup action (action.yml) runs it;
# tests/install_script.rs runs it against a fake release served on 127.0.0.1.
#
#   install-clinic.sh --plan VERSION      print version=, target= and archive= (and write them
#                                         to $GITHUB_OUTPUT when it is set); installs nothing
#   install-clinic.sh VERSION DIR         install clinic VERSION as DIR/clinic (clinic.exe on
#                                         Windows); a DIR that already holds it is kept
#
# The machine is read from RUNNER_OS/RUNNER_ARCH (set on every GitHub runner), else from uname.
# CLINIC_RELEASES_URL replaces the releases address (a mirror, or the tests' local server).
# Exit codes: 0 installed (or planned), 1 the download or its verification failed, 2 bad usage
# or a platform with no release.
set -euo pipefail

RELEASES_URL="${CLINIC_RELEASES_URL:-https://github.com/release-rollback-clinic/clinic/releases/download}"

fail() { # exit code, message
  echo "install-clinic: error: $2" >&2
  exit "$1"
}

# A release version as the tags spell it, without the v: 0.1.0, 1.2.3-rc.1. Anything else
# (latest, a branch, a path) is refused: the portfolio must not change under a student.
normalised_version() {
  local version="${1#v}"
  if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
    fail 2 "version '$1' is not a release version such as 0.1.0 (pin one; 'latest' is not accepted)"
  fi
  echo "$version"
}

# The dist target of this machine. Keep in step with `targets` in dist-workspace.toml.
target_triple() {
  local os="${RUNNER_OS:-$(uname -s)}" arch="${RUNNER_ARCH:-$(uname -m)}"
  case "$arch" in
    X64 | x86_64 | amd64 | AMD64) arch=x86_64 ;;
    ARM64 | aarch64 | arm64) arch=aarch64 ;;
  esac
  case "$os/$arch" in
    Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/aarch64) echo aarch64-unknown-linux-musl ;;
    macOS/x86_64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    macOS/aarch64 | Darwin/aarch64) echo aarch64-apple-darwin ;;
    Windows/x86_64 | MINGW*/x86_64 | MSYS*/x86_64 | CYGWIN*/x86_64) echo x86_64-pc-windows-msvc ;;
    *)
      fail 2 "no clinic release for this platform ($os, $arch); releases exist for Linux and macOS (x86_64, arm64) and Windows x86_64. Install from source instead: cargo install --locked clinic"
      ;;
  esac
}

# dist's naming: clinic-<target>.tar.xz, and .zip on Windows.
archive_name() {
  case "$1" in
    *-windows-*) echo "clinic-$1.zip" ;;
    *) echo "clinic-$1.tar.xz" ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1 # macOS
  fi
}

# Downloads $1 to $2; a missing asset names the URL and what to check.
download() {
  local url="$1" to="$2" status
  status=$(curl --silent --show-error --location --retry 3 --output "$to" --write-out '%{http_code}' "$url") ||
    fail 1 "cannot download $url (curl failed; see above)"
  case "$status" in
    200) ;;
    404) fail 1 "no such release asset: $url (HTTP 404). Is clinic $VERSION released, with an archive for $TARGET? See the releases page." ;;
    *) fail 1 "cannot download $url (HTTP $status)" ;;
  esac
}

plan() {
  VERSION=$(normalised_version "$1")
  TARGET=$(target_triple)
  ARCHIVE=$(archive_name "$TARGET")
  local line
  for line in "version=$VERSION" "target=$TARGET" "archive=$ARCHIVE"; do
    echo "$line"
    if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$line" >>"$GITHUB_OUTPUT"; fi
  done
}

install() {
  VERSION=$(normalised_version "$1")
  TARGET=$(target_triple)
  ARCHIVE=$(archive_name "$TARGET")
  local dir="$2" exe=clinic
  case "$TARGET" in *-windows-*) exe=clinic.exe ;; esac

  # A cache restored by the action: keep it when it is the version asked for.
  if [ -x "$dir/$exe" ] && [ "$("$dir/$exe" --version 2>/dev/null)" = "clinic $VERSION" ]; then
    echo "clinic $VERSION is already in $dir"
    return
  fi

  # Global, not local: the EXIT trap runs after this function has returned.
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  local work="$WORK"
  local url="$RELEASES_URL/v$VERSION/$ARCHIVE"
  echo "Downloading $url"
  download "$url" "$work/$ARCHIVE"
  download "$url.sha256" "$work/$ARCHIVE.sha256"

  # dist writes `<hex> *<name>` (sha256sum's binary format); only the hex is compared.
  local expected actual
  expected=$(cut -d' ' -f1 <"$work/$ARCHIVE.sha256" | tr -d '\r' | tr 'A-F' 'a-f')
  actual=$(sha256_of "$work/$ARCHIVE")
  if [ "$expected" != "$actual" ]; then
    fail 1 "checksum mismatch for $ARCHIVE: the release says $expected, the download is $actual. Nothing was installed; retry, and report it if it persists."
  fi

  # Tarballs hold clinic-<target>/clinic; the Windows zip holds clinic.exe at its top.
  mkdir "$work/unpacked"
  case "$ARCHIVE" in
    *.zip)
      if command -v unzip >/dev/null 2>&1; then
        unzip -q "$work/$ARCHIVE" -d "$work/unpacked"
      else
        pwsh -NoProfile -Command "Expand-Archive -LiteralPath '$work/$ARCHIVE' -DestinationPath '$work/unpacked'"
      fi
      ;;
    *) tar -xJf "$work/$ARCHIVE" -C "$work/unpacked" ;;
  esac
  local found=""
  for candidate in "$work/unpacked/clinic-$TARGET/$exe" "$work/unpacked/$exe"; do
    if [ -f "$candidate" ]; then found="$candidate"; fi
  done
  [ -n "$found" ] || fail 1 "$ARCHIVE has no $exe (neither clinic-$TARGET/$exe nor $exe)"

  mkdir -p "$dir"
  cp "$found" "$dir/$exe"
  chmod 755 "$dir/$exe"
  echo "Installed clinic $VERSION ($TARGET) as $dir/$exe"
}

case "${1:-}" in
  --plan)
    [ $# -eq 2 ] || fail 2 "usage: install-clinic.sh --plan VERSION"
    plan "$2"
    ;;
  -* | "")
    fail 2 "usage: install-clinic.sh VERSION DIR, or install-clinic.sh --plan VERSION"
    ;;
  *)
    [ $# -eq 2 ] || fail 2 "usage: install-clinic.sh VERSION DIR"
    install "$1" "$2"
    ;;
esac

#!/usr/bin/env bash
# Prints the packages of the named lists of debian-packages.txt (runtime, build,
# test; all three when none is named), one per line, comments and blanks removed.
# DEBIAN_PACKAGES_FILE names another list file (debian-packages-arm64.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
lists=("$@")
file=${DEBIAN_PACKAGES_FILE:-$here/debian-packages.txt}
[[ ${#lists[@]} -eq 0 ]] && lists=(runtime build test)
awk -v want=" ${lists[*]} " '
  { sub(/#.*/, ""); gsub(/[[:space:]]+/, "") }
  /^\[.*\]$/ { section = substr($0, 2, length($0) - 2); known[section] = 1; next }
  $0 == "" { next }
  section == "" { print FILENAME ": " $0 " is outside a [list]" > "/dev/stderr"; exit 2 }
  index(want, " " section " ") { print }
  END {
    n = split(want, asked, " ")
    for (i = 1; i <= n; i++) if (!(asked[i] in known)) {
      print FILENAME ": no [" asked[i] "] list" > "/dev/stderr"; exit 2 }
  }
' "$file"

#!/usr/bin/env bash
# Prints the packages of the named lists of debian-packages.txt (runtime, build,
# test; all three when none is named), one per line, comments and blanks removed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
lists=("$@")
[[ ${#lists[@]} -eq 0 ]] && lists=(runtime build test)
awk -v want=" ${lists[*]} " '
  { sub(/#.*/, ""); gsub(/[[:space:]]+/, "") }
  /^\[.*\]$/ { section = substr($0, 2, length($0) - 2); known[section] = 1; next }
  $0 == "" { next }
  section == "" { print "debian-packages.txt: " $0 " is outside a [list]" > "/dev/stderr"; exit 2 }
  index(want, " " section " ") { print }
  END {
    n = split(want, asked, " ")
    for (i = 1; i <= n; i++) if (!(asked[i] in known)) {
      print "debian-packages.txt: no [" asked[i] "] list" > "/dev/stderr"; exit 2 }
  }
' "$here/debian-packages.txt"

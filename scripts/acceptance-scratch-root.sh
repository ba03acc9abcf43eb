#!/usr/bin/env bash
# `make test-package-root`: the acceptance test on a kiosk that has only the package's
# dependencies (issue 25). As root, on an amd64 Debian 12 machine:
#
#  1. builds the package (`make deb`; DEB=path uses one already built);
#  2. a scratch Debian bookworm root: debootstrap's default variant, built once under
#     $SCRATCH/base (then copied afresh for every run);
#  3. `apt-get install --no-install-recommends ./vn-hospital-kiosk_….deb man-db` in it:
#     only the package's Depends come in (man-db: a technician's Debian has `man`);
#  4. provisions it as docs/deployment.md section 3 says: `kiosk config new`, filled in
#     (tests/package_root/harness.py), `config check --production`, `provision`, the
#     test CSCA into /etc/kiosk/csca, the test servers' CA with update-ca-certificates;
#  5. in a network namespace of its own: the root's pcscd (the package's dependency) with
#     the vpcd driver copied in, the test card (`kiosk card simulate`), BHXH gateway
#     simulator, FHIR test server and network printer on loopback under their real names
#     (the harness); `kiosk doctor`, the documented acceptance script with
#     `runuser -u kiosk -- kiosk run --script … --card …`, `kiosk sync --once`; then
#     `man kiosk`.
#
# Prints each step's time. Not part of `make test` (minutes). Everything happens inside
# $SCRATCH (default .cache/package-root): nothing is installed on this machine, and the
# mounts live in a mount namespace of this script's own (unmounted on exit, failure
# included). Variables: DEB, SCRATCH, MIRROR, DEB_COMPRESS, DEB_LINTIAN (make deb's), and
# FROM_STEP=N (2–6) to go on in the root of the last run from step N (when mending one).
set -euo pipefail

PROJECT=$(cd "$(dirname "$0")/.." && pwd)
SCRATCH=$(realpath -m "${SCRATCH:-$PROJECT/.cache/package-root}")
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BASE=$SCRATCH/base ROOT=$SCRATCH/root WORK=$SCRATCH/work
PY=$PROJECT/.venv/bin/python
CARD=001190123456  # tests/chip_identity.py BASE: the virtual test card's number
VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() { echo "acceptance-scratch-root: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "run as root (debootstrap, chroot, namespaces)"

# The whole run in a private mount namespace: its mounts vanish with it, even if killed.
if [[ ${1:-} != __inside && ${1:-} != __network ]]; then
  exec unshare --mount --propagation private -- "$0" __inside "$@"
fi

since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
in_root() {  # a command in the scratch root, with a root shell's clean environment
  chroot "$ROOT" /usr/bin/env -i PATH=$PATH_IN HOME=/root LANG=C.UTF-8 TERM=dumb "$@"
}

# ---- step 5, in the network namespace (`unshare --net` below) -------------------------
if [[ $1 == __network ]]; then
  pids=()
  stop_all() {
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
      kill -TERM "${pids[i]}" 2>/dev/null || true
      wait "${pids[i]}" 2>/dev/null || true
    done
  }
  trap stop_all EXIT
  ip link set lo up
  hosts='127.0.0.1 egw.baohiemxahoi.gov.vn his.benhvien.vn'  # the test servers' names
  grep -qxF "$hosts" "$ROOT/etc/hosts" || echo "$hosts" >>"$ROOT/etc/hosts"
  # The vpcd reader: the driver file and its reader.conf.d entry (test harness).
  install -D -m 0644 "$(realpath "$VPCD_DRIVER")" "$ROOT$VPCD_DRIVER"
  printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x8C7B\nLIBPATH      %s\nCHANNELID    0x8C7B\n' \
    "$VPCD_DRIVER" >"$ROOT/etc/reader.conf.d/vpcd"
  mkdir -p "$ROOT/run/pcscd"
  # A killed run's pcscd (its pid file names it, its root is this root): end it.
  old=$(cat "$ROOT/run/pcscd/pcscd.pid" 2>/dev/null || true)
  if [[ -n $old && $(readlink "/proc/$old/root" 2>/dev/null) == "$ROOT" ]]; then
    kill -TERM "$old"; sleep 1
  fi
  rm -f "$ROOT/run/pcscd/pcscd.comm" "$ROOT/run/pcscd/pcscd.pid"
  (exec chroot "$ROOT" /usr/bin/env -i PATH=$PATH_IN LANG=C.UTF-8 pcscd --foreground) \
    >"$WORK/pcscd.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [[ -S $ROOT/run/pcscd/pcscd.comm ]] && break; sleep 0.1; done
  kill -0 "${pids[0]}" && [[ -S $ROOT/run/pcscd/pcscd.comm ]] \
    || die "the root's pcscd did not start: $(cat "$WORK/pcscd.log")"
  (cd "$PROJECT" && exec "$PY" -m tests.package_root.harness serve "$WORK") >"$WORK/serve.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do [[ -e $WORK/ready ]] && break; sleep 0.1; done
  [[ -e $WORK/ready ]] || die "the test servers did not start: $(cat "$WORK/serve.log")"

  echo "--- kiosk doctor (as root, docs section 3 step 4)"
  set +e
  in_root kiosk doctor --json >"$WORK/doctor.json" 2>"$WORK/doctor.err"
  doctor=$?
  set -e
  "$PY" - "$WORK/doctor.json" <<'PY'
import json, sys
for c in json.load(open(sys.argv[1]))["checks"]:
    print(f"  [{c['status']:4}] {c['name']}: {c['detail']}")
PY
  # The camera is the one part this root has not got (no /dev/video0).
  failed=$("$PY" -c 'import json,sys; print(" ".join(c["name"] for c in json.load(open(sys.argv[1]))["checks"] if c["status"] == "fail"))' "$WORK/doctor.json")
  [[ $failed == camera ]] || die "kiosk doctor (exit $doctor) failed more than the camera: $failed"

  echo "--- the acceptance test (docs/deployment.md, as the kiosk user)"
  # The documented script, taken from the guide itself.
  sed -n "/^    cat > \/tmp\/accept.json <<'JSON'$/,/^    JSON$/p" "$PROJECT/docs/deployment.md" \
    | sed '1d;$d;s/^    //' >"$ROOT/tmp/accept.json"
  [[ -s $ROOT/tmp/accept.json ]] || die "no acceptance script in docs/deployment.md"
  chmod 0644 "$ROOT/tmp/accept.json"
  started=$(date +%s.%N)
  set +e
  in_root runuser -u kiosk -- kiosk run --script /tmp/accept.json --card "$CARD" --json \
    >"$WORK/accept.json" 2>"$WORK/accept.err"
  accept=$?
  set -e
  echo "acceptance run: $(since "$started") s" >>"$WORK/timings-inner"
  cat "$WORK/accept.json"
  [[ $accept -eq 0 ]] || die "kiosk run --script exited $accept: $(tail -c 3000 "$WORK/accept.err")"
  "$PY" -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["ok"] and o["registration"]["queue_number"], o' \
    "$WORK/accept.json"

  echo "--- kiosk sync --once (the test registration reaches the HIS)"
  in_root runuser -u kiosk -- kiosk sync --once --json
  stop_all
  trap - EXIT
  cat "$WORK/served.json"
  "$PY" - "$WORK/served.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["bhxh"]["check"] >= 1, s["bhxh"]   # the card checked at the gateway
assert s["his"]["Encounter"] >= 1, s["his"]   # the registration synced
assert s["printer"] and min(s["printer"]) > 1000, s["printer"]  # a ticket printed
PY
  exit 0
fi

# ---- steps 1–4 and the timings ----------------------------------------------------------
shift  # __inside
declare -a TIMES=()
STEP=""
step() { STEP=$1; STEP_T=$(date +%s.%N); echo "=== $1"; }
done_step() {
  TIMES+=("$(printf '%8s s  %s' "$(since "$STEP_T")" "$STEP")")
  STEP=""
}
cleanup() {
  local code=$?
  for m in "$ROOT/var/cache/apt/archives" "$ROOT/dev" "$ROOT/sys" "$ROOT/proc"; do
    mountpoint -q "$m" 2>/dev/null && umount -R "$m"
  done
  echo
  printf '%s\n' "${TIMES[@]}" | tee "$SCRATCH/timings.txt"
  [[ -e $WORK/timings-inner ]] && sed 's/^/      (/;s/$/)/' "$WORK/timings-inner"
  [[ -n $STEP ]] && echo "FAILED in: $STEP (exit $code)"
  exit "$code"
}
trap cleanup EXIT
mkdir -p "$SCRATCH"

FROM=${FROM_STEP:-1}
skip() { [[ $1 -lt $FROM ]] && echo "=== $2: skipped (FROM_STEP=$FROM)"; }

skip 1 "1. the package" || {
step "1. the package (make deb)"
if [[ -n ${DEB:-} ]]; then
  DEB=$(realpath "$DEB")
  echo "given: $DEB"
else
  rm -rf "$SCRATCH/dist"
  make -s -C "$PROJECT" deb DIST="$SCRATCH/dist" >"$SCRATCH/make-deb.log" 2>&1 \
    || die "make deb failed: $(tail -20 "$SCRATCH/make-deb.log")"
  DEB=$(ls "$SCRATCH"/dist/vn-hospital-kiosk_*_amd64.deb)
fi
done_step
}

skip 2 "2. scratch root" || {
step "2. scratch root (debootstrap bookworm, default variant; cached in $BASE)"
if [[ ! -e $BASE/.kiosk-base-complete ]]; then
  rm -rf "$BASE"
  mkdir -p "$SCRATCH/debootstrap-debs"
  debootstrap --cache-dir="$SCRATCH/debootstrap-debs" bookworm "$BASE" "$MIRROR" \
    >"$SCRATCH/debootstrap.log" 2>&1 || die "debootstrap failed: $(tail "$SCRATCH/debootstrap.log")"
  touch "$BASE/.kiosk-base-complete"
else
  echo "cached base (rm -r $BASE to rebuild it)"
fi
rm -rf "$ROOT" "$WORK"
cp -a "$BASE" "$ROOT"
mkdir -p "$WORK"
done_step
}
[[ -x $ROOT/usr/bin/env ]] || die "no scratch root at $ROOT (run from step 2)"
rm -f "$WORK/ready" "$WORK/timings-inner"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev"

skip 3 "3. apt-get install" || {
step "3. apt-get install ./$(basename "$DEB") (only its Depends) + man-db"
# apt's downloads kept between runs (first seeded from this machine's own apt cache).
if [[ ! -d $SCRATCH/apt-archives ]]; then
  mkdir -p "$SCRATCH/apt-archives/partial"
  cp -l /var/cache/apt/archives/*.deb "$SCRATCH/apt-archives/" 2>/dev/null \
    || cp /var/cache/apt/archives/*.deb "$SCRATCH/apt-archives/" 2>/dev/null || true
fi
mount --bind "$SCRATCH/apt-archives" "$ROOT/var/cache/apt/archives"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"  # a chroot starts no services
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
cp "$DEB" "$ROOT/tmp/"
before=$(in_root dpkg-query -W -f '${Package}\n' | wc -l)
in_root apt-get update -q >"$WORK/apt.log" 2>&1 || die "apt-get update: $(tail "$WORK/apt.log")"
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q --no-install-recommends \
  "/tmp/$(basename "$DEB")" man-db >>"$WORK/apt.log" 2>&1 \
  || die "apt-get install: $(tail -30 "$WORK/apt.log")"
echo "$(($(in_root dpkg-query -W -f '${Package}\n' | wc -l) - before)) packages installed"
in_root dpkg-query -W -f '${Status}\n' vn-hospital-kiosk | grep -qx 'install ok installed'
done_step
}

skip 4 "4. provision" || {
step "4. provision (kiosk config new → check --production → provision; CSCA; hospital CA)"
if [[ -e $ROOT/etc/kiosk/kiosk.toml ]]; then  # FROM_STEP=4: the last run's kiosk, retired
  in_root kiosk decommission --yes >/dev/null
fi
in_root kiosk config new >"$ROOT/root/lobby-01.toml"
(cd "$PROJECT" && "$PY" -m tests.package_root.harness prepare "$WORK" "$ROOT" "$ROOT/root/lobby-01.toml")
in_root kiosk config check --production --config /root/lobby-01.toml
in_root kiosk provision --config-file /root/lobby-01.toml
rm "$ROOT/root/lobby-01.toml"  # it holds the secrets
install -d -m 0755 "$ROOT/etc/kiosk/csca"
install -m 0644 "$WORK"/pki/trust/* "$ROOT/etc/kiosk/csca/"
in_root update-ca-certificates >/dev/null
done_step
}

skip 5 "5. acceptance" || {
step "5. doctor, acceptance test, sync (own network namespace)"
unshare --net -- "$0" __network
done_step
}

step "6. man kiosk"
in_root man -P cat kiosk >"$WORK/man.txt" 2>"$WORK/man.err" || die "man kiosk: $(cat "$WORK/man.err")"
head -12 "$WORK/man.txt"
grep -q "kiosk" "$WORK/man.txt" && [[ $(wc -l <"$WORK/man.txt") -gt 50 ]] \
  || die "man kiosk printed too little"
done_step
echo "PASSED: the acceptance test on a root with only the package's dependencies (${DEB:-})"

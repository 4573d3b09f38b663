#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vmtest.sh - run lockwatch (and kmod/lockwatch.ko, when built) on Debian's
# 6.1 kernel under qemu (TCG: software emulation, no KVM needed).
#
# 1. resolves Debian's 6.1 kernel (apt-cache depends linux-image-amd64, or the
#    kernel the module was built for), downloads its package once into
#    .output/vm/cache (apt-get download, nothing is installed) and extracts
#    vmlinuz (plus the modules kmod/lockwatch.ko depends on, if any);
# 2. builds a busybox initramfs: /init (scripts/vm-init.sh); under /lw, laid
#    out as the repository is, lockwatch, .output/tests/*, the guest's tests
#    (scripts/vm-tests.sh) and the host's harness they use (tests/lib*.sh);
#    bash, GNU date, pgrep/pkill and jq for that harness, the module, and
#    every shared library they need (ldd);
# 3. boots it with a timeout; the guest reports through console markers
#    (VMTEST-START, "VMTAP ..." results, VMTEST-RESULT, VMTEST-EXIT) and
#    powers off;
# 4. prints kselftest-style TAP: the guest's results plus the host's own
#    checks (the guest ran, reported success, no WARNING:/BUG:/Oops/general
#    protection on the console).  Exit status 0 only when all passed.
#
# Without qemu/busybox-static/... or the kernel package: "1..0 # SKIP why".
#
# Environment: VMTEST_TIMEOUT (seconds for boot+tests, default 300),
# VMTEST_KERNEL (a kernel release, e.g. 6.1.0-56-amd64), VMTEST_DIR (default
# .output/vm), VMTEST_VERBOSE=1 (copy the console to stderr as it comes),
# VMTEST_APPEND (more kernel command line), VMTEST_MEM (MiB, default 1024),
# VMTEST_SMP (default 2), VMTEST_KO (the module to test instead of
# kmod/lockwatch.ko), VMTEST_KERNEL_DEB (a linux-image package to boot,
# instead of Debian 12's: tests/vm612.t gives Debian 13's), VMTEST_ACCEL
# (qemu's -accel, default tcg,thread=single).
#
# Why one host thread for both vCPUs: 6.12 once died in CI with "Oops: int3"
# in __schedule, not tainted, as lockwatch enabled its tracepoints. The
# kernel patches its text (static keys) by writing int3 first; a vCPU that
# takes that int3 after the patch is done, as a stale translated block under
# multi-threaded TCG can, sees a real breakpoint. With one thread the vCPUs
# run in turn and a write drops the blocks it touches before any runs again.
# It cost nothing measurable here: vm612.t 161 s, vm.t 157 s.

set -eu -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VM=${VMTEST_DIR:-$ROOT/.output/vm}
TIMEOUT=${VMTEST_TIMEOUT:-300}
ACCEL=${VMTEST_ACCEL:-tcg,thread=single}
LW_BIN=$ROOT/lockwatch
PROGS=$ROOT/.output/tests
KO=${VMTEST_KO:-$ROOT/kmod/lockwatch.ko}
T_START=$(date +%s.%N)

skip_all()
{
	echo "TAP version 13"
	echo "1..0 # SKIP $1"
	exit 0
}

bail()
{
	echo "TAP version 13"
	echo "Bail out! $1"
	exit 1
}

log() { echo "# vmtest: $*" >&2; }

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- 0. what the harness needs on the host ---

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

missing=()
for pkg in qemu-system-x86 busybox-static cpio kmod jq; do
	installed "$pkg" || missing+=("$pkg")
done
for cmd in apt-get apt-cache dpkg-deb ldd gzip timeout; do
	command -v "$cmd" >/dev/null || missing+=("(command $cmd)")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "vmtest: missing packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
	skip_all "missing packages: ${missing[*]}"
fi
command -v qemu-system-x86_64 >/dev/null || skip_all "no qemu-system-x86_64 (package qemu-system-x86)"
BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
	skip_all "$BUSYBOX is not the static busybox (package busybox-static)"
fi

[ -x "$LW_BIN" ] || bail "$LW_BIN is not built (run make)"
for p in deadlock healthy hang orders; do
	[ -x "$PROGS/$p" ] || bail "$PROGS/$p is not built (run make)"
done
for f in scripts/vm-init.sh scripts/vm-tests.sh tests/lib.sh tests/lib-attach.sh \
	tests/lib-programs.sh; do
	[ -r "$ROOT/$f" ] || bail "$f is missing"
done
# what the guest's harness runs beyond busybox: GNU date (+%N), pgrep, pkill
GNU_TOOLS=(/bin/bash "$(command -v date)" "$(command -v pgrep)" "$(command -v pkill)")
for t in "${GNU_TOOLS[@]}"; do
	[ -x "$t" ] || bail "$t is missing (packages bash, coreutils, procps)"
done

mkdir -p "$VM/cache" "$VM/kernel"

WORK=$(mktemp -d "$VM/work.XXXXXX")
QEMU_PID=
cleanup()
{
	[ -z "$QEMU_PID" ] || kill -KILL "$QEMU_PID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. the kernel: resolve, download once, extract ---

KVER=${VMTEST_KERNEL:-}
if [ -n "${VMTEST_KERNEL_DEB:-}" ]; then
	KVER=$(dpkg-deb -f "$VMTEST_KERNEL_DEB" Package 2>/dev/null | sed -n 's/^linux-image-//p')
	[ -n "$KVER" ] || bail "$VMTEST_KERNEL_DEB is not a linux-image package"
fi
if [ -z "$KVER" ] && [ -e "$KO" ]; then
	# the kernel the module was built for: its vermagic starts with the release
	KVER=$(modinfo -F vermagic "$KO" 2>/dev/null | awk '{ print $1 }') || KVER=
	case $KVER in 6.1.*) ;; *) KVER= ;; esac
fi
if [ -z "$KVER" ]; then
	KVER=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
fi
[ -n "$KVER" ] || skip_all "cannot resolve Debian's kernel (apt-cache depends linux-image-amd64 names none; apt-get update?)"
KPKG=linux-image-$KVER
KDIR=$VM/kernel/$KVER
VMLINUZ=$KDIR/vmlinuz

find_deb() { find "$VM/cache" -maxdepth 1 -name "${KPKG}_*_amd64.deb" | sort | tail -n 1; }

DEB=${VMTEST_KERNEL_DEB:-$(find_deb)}
if [ -z "$DEB" ]; then
	t0=$(date +%s.%N)
	log "downloading $KPKG (once; cached in $VM/cache)"
	# apt-get download writes into the current directory; as root it warns that
	# the _apt sandbox user cannot write there, which is harmless.
	if ! (cd "$WORK" && apt-get download -q "$KPKG") >"$WORK/apt.log" 2>&1; then
		sed 's/^/# /' "$WORK/apt.log" >&2
		skip_all "apt-get download $KPKG failed (offline? apt-get update?)"
	fi
	mv "$WORK"/"${KPKG}"_*.deb "$VM/cache/"
	DEB=$(find_deb)
	log "downloaded $(basename "$DEB") in $(elapsed "$t0") s"
fi
[ -n "$DEB" ] || skip_all "no $KPKG package in $VM/cache"

if [ ! -s "$VMLINUZ" ]; then
	mkdir -p "$KDIR"
	dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK" "./boot/vmlinuz-$KVER" ||
		skip_all "$DEB has no boot/vmlinuz-$KVER"
	mv "$WORK/boot/vmlinuz-$KVER" "$VMLINUZ.tmp"
	mv "$VMLINUZ.tmp" "$VMLINUZ"
fi

# --- 2. the initramfs ---

t0=$(date +%s.%N)
R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,run,root,etc,modules} \
	"$R"/lw/{scripts,tests,.output/tests}
cp "$BUSYBOX" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
install -m 755 "$ROOT/scripts/vm-init.sh" "$R/init"
install -m 755 "$ROOT/scripts/vm-tests.sh" "$R/lw/scripts/vm-tests.sh"
install -m 644 "$ROOT"/tests/lib.sh "$ROOT"/tests/lib-attach.sh "$ROOT"/tests/lib-programs.sh \
	"$R/lw/tests/"
mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$R/dev/null" c 1 3 2>/dev/null || true
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"

ELFS=("$R/lw/lockwatch" "$R/usr/bin/jq")
cp "$LW_BIN" "$R/lw/lockwatch"
cp "$(command -v jq)" "$R/usr/bin/jq"
# first in the guest's PATH, before busybox's applets of the same names
for t in "${GNU_TOOLS[@]}"; do
	cp "$t" "$R/usr/local/bin/"
	ELFS+=("$R/usr/local/bin/${t##*/}")
done
for p in "$PROGS"/*; do
	if [ ! -f "$p" ] || [ ! -x "$p" ]; then
		continue
	fi
	cp "$p" "$R/lw/.output/tests/"
	ELFS+=("$R/lw/.output/tests/${p##*/}")
done

# every shared library (and the dynamic loader) at the path ldd names
for elf in "${ELFS[@]}"; do
	# a statically linked one has none (ldd fails on it)
	{ ldd "$elf" 2>/dev/null || true; } | awk '
		$2 == "=>" && $3 ~ /^\// { print $3 }
		$1 ~ /^\// { print $1 }'
done | sort -u >"$WORK/libs"
while read -r lib; do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done <"$WORK/libs"

MODINFO=
if [ -e "$KO" ]; then
	cp "$KO" "$R/lockwatch.ko"
	MODINFO=$(modinfo -F vermagic "$KO" 2>/dev/null || true)
	# busybox modinfo reads only installed modules: the guest gets these
	modinfo -F name "$KO" >"$R/lockwatch.name" 2>/dev/null || true
	modinfo "$KO" 2>/dev/null | grep -E '^(name|version|vermagic|depends|srcversion):' |
		tr -s ' ' >"$R/lockwatch.modinfo" || true
	deps=$(modinfo -F depends "$KO" 2>/dev/null | tr ',' ' ')
	if [ -n "$deps" ]; then
		# the modules it needs, from the kernel package, in load order
		# (modules.dep lists each module's dependencies, the last loads first)
		mdir=./lib/modules/$KVER
		dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK" "$mdir/modules.dep"
		: >"$WORK/want"
		for d in $deps; do
			line=$(grep -E "/${d//[-_]/[-_]}\.ko(\.[a-z]+)?:" "$WORK/$mdir/modules.dep" | head -n 1)
			[ -n "$line" ] || { log "module dependency $d not in modules.dep"; continue; }
			# shellcheck disable=SC2086 # word splitting wanted
			printf '%s\n' ${line#*:} | tac >>"$WORK/want"
			echo "${line%%:*}" >>"$WORK/want"
		done
		awk '!seen[$0]++' "$WORK/want" >"$WORK/order"
		sed "s|^|$mdir/|" "$WORK/order" >"$WORK/paths"
		dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$WORK" -T "$WORK/paths"
		while read -r m; do
			base=${m##*/}
			case $base in
			*.xz) xz -dc "$WORK/$mdir/$m" >"$R/modules/${base%.xz}"; base=${base%.xz} ;;
			*.zst) zstd -qdc "$WORK/$mdir/$m" >"$R/modules/${base%.zst}"; base=${base%.zst} ;;
			*) cp "$WORK/$mdir/$m" "$R/modules/$base" ;;
			esac
			echo "$base" >>"$R/lockwatch-deps"
		done <"$WORK/order"
	fi
fi

INITRD=$VM/initrd.gz
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$INITRD.tmp"
mv "$INITRD.tmp" "$INITRD"
INITRD_MB=$(du -m "$INITRD" | cut -f1)
INITRD_S=$(elapsed "$t0")

# --- 3. boot ---

CONSOLE=$VM/console.log
APPEND="console=ttyS0 quiet panic=-1 ${VMTEST_APPEND:-}"
t0=$(date +%s.%N)
log "booting $KVER ($(basename "$DEB")), timeout ${TIMEOUT} s, console in $CONSOLE"
set +e
if [ "${VMTEST_VERBOSE:-0}" = 1 ]; then
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel "$ACCEL" -m "${VMTEST_MEM:-1024}" \
		-smp "${VMTEST_SMP:-2}" -nographic -no-reboot -nic none \
		-kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND" </dev/null 2>&1 |
		tee "$CONSOLE" >&2
	QEMU_RC=${PIPESTATUS[0]}
else
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel "$ACCEL" -m "${VMTEST_MEM:-1024}" \
		-smp "${VMTEST_SMP:-2}" -nographic -no-reboot -nic none \
		-kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND" </dev/null >"$CONSOLE" 2>&1 &
	QEMU_PID=$!
	wait "$QEMU_PID"
	QEMU_RC=$?
	QEMU_PID=
fi
set -e
BOOT_S=$(elapsed "$t0")

# --- 4. the verdict, from the console alone ---

# from here on "| head" may cut a pipeline short: that is no failure
set +o pipefail

# no escape sequences, no carriage returns, no other control characters
TXT=$VM/console.txt
sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Za-z0-9]//g' -e 's/\x1bc//g' \
	-e 's/\r//g' -e 's/[\x00-\x08\x0b-\x1f\x7f]//g' "$CONSOLE" >"$TXT"

NUM=0
PASS=0
FAIL=0
SKIPS=0
TAP=$WORK/tap
: >"$TAP"
res()
{
	local status=$1 name=$2
	NUM=$((NUM + 1))
	case $status in
	ok)
		PASS=$((PASS + 1))
		echo "ok $NUM - $name" >>"$TAP"
		;;
	skip)
		SKIPS=$((SKIPS + 1))
		echo "ok $NUM - $name" >>"$TAP"
		;;
	*)
		FAIL=$((FAIL + 1))
		echo "not ok $NUM - $name" >>"$TAP"
		;;
	esac
}
# diag: stdin as "# " lines of the TAP output (a file: pipelines run diag in
# a subshell)
diag() { sed 's/^/# /' >>"$TAP"; }
console_tail() { grep -v '^DMESG: ' "$TXT" | tail -n "${1:-40}" | sed 's/^/console: /' | diag; }

if grep -q '^VMTEST-START:' "$TXT"; then
	res ok "vm: $KVER booted and /init ran"
else
	res fail "vm: $KVER booted and /init ran"
	echo "no VMTEST-START marker on the console (qemu exit status $QEMU_RC; 124: timed out)" | diag
	console_tail 60
fi

# the kernel asked for, and for an -rt- package one built PREEMPT_RT
kernel=$(sed -n 's/^VMTEST-KERNEL: //p' "$TXT" | head -n 1)
want=$KVER
case $KVER in *-rt-*) want="$KVER (PREEMPT_RT)" ;; esac
case $KVER:$kernel in
*-rt-*:"$KVER "*PREEMPT_RT*) res ok "vm: the guest runs $want" ;;
*-rt-*:*) res fail "vm: the guest runs $want" ;;
*:"$KVER "*) res ok "vm: the guest runs $want" ;;
*) res fail "vm: the guest runs $want" ;;
esac
[ "$kernel" != "" ] || kernel="(no VMTEST-KERNEL line)"
echo "guest kernel: $kernel" | diag

# the guest's TAP (its own numbers dropped: these are numbered among the
# host's)
while IFS= read -r line; do
	line=${line#VMTAP }
	case $line in
	"ok "*" - "*"# SKIP"*) res skip "${line#ok * - }" ;;
	"ok "*" - "*) res ok "${line#ok * - }" ;;
	"not ok "*" - "*) res fail "${line#not ok * - }" ;;
	"#"*) echo "$line" >>"$TAP" ;;
	esac
done < <(grep '^VMTAP ' "$TXT" || true)

# every test of the guest's list ran, in order
bash "$ROOT/scripts/vm-tests.sh" --list "$KVER" >"$WORK/planned"
sed -n 's/^VMTAP VMTEST-RAN: //p' "$TXT" >"$WORK/ran"
planned=$(wc -l <"$WORK/planned")
if [ "$planned" -gt 0 ] && cmp -s "$WORK/planned" "$WORK/ran"; then
	res ok "vm: all $planned tests of the guest's list ran"
else
	res fail "vm: all $planned tests of the guest's list ran"
	diff "$WORK/planned" "$WORK/ran" | head -n 20 | diag
fi

result=$(sed -n 's/^VMTAP VMTEST-RESULT: //p' "$TXT" | tail -n 1)
gexit=$(sed -n 's/^VMTEST-EXIT: \([0-9][0-9]*\).*/\1/p' "$TXT" | tail -n 1)
if [ -n "$result" ] && [ "$gexit" = 0 ] && [ "$QEMU_RC" = 0 ]; then
	res ok "vm: the guest reported success ($result) and powered off"
else
	res fail "vm: the guest reported success and powered off"
	{
		echo "guest result: ${result:-none}; guest exit status: ${gexit:-none}"
		echo "qemu exit status: $QEMU_RC (124: killed after $TIMEOUT s)"
	} | diag
	[ -n "$gexit" ] || console_tail 40
fi

# kernel trouble, whether printed as it happened or found in the dmesg dump;
# the guest's own "VMTAP" lines (which quote program output) are not kernel's
warn_re='WARNING:|BUG:|Oops|general protection'
warns=$(grep -v '^VMTAP ' "$TXT" | grep -E "$warn_re" || true)
if [ -n "$warns" ]; then
	res fail "vm: no kernel warning on the console"
	grep -v '^VMTAP ' "$TXT" | grep -E -B 2 -A 30 "$warn_re" | head -n 120 | diag
else
	res ok "vm: no kernel warning on the console"
fi

echo "TAP version 13"
echo "1..$NUM"
echo "# vmtest: kernel $KVER ($(basename "$DEB")), module: $([ -e "$KO" ] && echo "${KO#"$ROOT"/} (vermagic ${MODINFO% })" || echo "not built")"
echo "# vmtest: initramfs ${INITRD_MB} MiB built in $INITRD_S s"
cat "$TAP"
echo "# vmtest: boot+tests took $BOOT_S s under qemu TCG (qemu exit status $QEMU_RC); total $(elapsed "$T_START") s"
echo "# vmtest: console log: $CONSOLE"
echo "# totals: pass:$PASS fail:$FAIL xfail:0 xpass:0 skip:$SKIPS error:0"
[ "$FAIL" -eq 0 ]

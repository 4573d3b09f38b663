#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Installs what lockwatch needs to build, run and test on Debian 12, and mounts
# tracefs when it is missing (libbpf resolves tracepoint ids through it).
# Idempotent: a second run installs nothing and mounts nothing.
set -eu

PKGS="make gcc clang libclang-rt-14-dev llvm pkg-config bpftool libbpf-dev libelf-dev libdw-dev
      zlib1g-dev libcapstone-dev libsystemd-dev libgraphviz-dev graphviz libxml2-utils libc6-dbg jq perl util-linux procps clang-format g++ systemtap-sdt-dev
      qemu-system-x86 busybox-static cpio kmod strace lintian
      python3.11 python3.11-dev libpython3.11-testsuite debootstrap valgrind
      stress-ng sysbench
      libpq5 libicu72 libllvm14 libxslt1.1 libxml2 libgssapi-krb5-2 libldap-2.5-0 libpam0g
      libselinux1 libuuid1 liblz4-1 libzstd1 locales"

# libsystemd-dev: --journal sends alerts to journald through its native
# protocol (systemd itself, whose journald the tests start, is Debian's base).
# libgraphviz-dev: check --svg lays out and renders the graph with
# Graphviz's library; graphviz's dot and libxml2-utils' xmllint check what
# --dot and --svg make (tests/picture.t).
# strace shows every system call lockwatch makes, against the unit's filter
# (tests/install.t); lintian checks `make deb`'s packages (tests/package.t),
# which are installed into Debian 12's and 13's roots (debootstrap, below).
# valgrind runs lockwatch's check and dump under memcheck (tests/memcheck.t);
# stress-ng and sysbench are the load of the soak (tests/soak.t, make soak),
# with PostgreSQL under pgbench: libpq5 to locales are what Debian's
# postgresql-15 links and needs; the package itself is taken apart below.
# libcapstone-dev disassembles the start of a lock function, to place its
# uprobe where the kernel need not single-step (user/sys/probeat.h).
# g++ builds the C++ lock-order tests (lockwatch links libstdc++ for its
# demangler); systemtap-sdt-dev's <sys/sdt.h> the USDT example
# (tests/usdtlock.c).
# python3.11 runs the Python tests (Debian's own stripped build, the one
# production hosts run); python3.11-dev's internal headers check the layout
# table lockwatch reads CPython 3.11 with (tests/pylayout.c);
# libpython3.11-testsuite is CPython's own test suite, which lockwatch watches
# run to the end (tests/cpython.t). debootstrap builds the roots of the other
# releases whose CPythons the tests run (scripts/pychroot.sh: trixie's 3.13,
# sid's 3.14 and 3.15), kept in /var/cache/lockwatch/chroot.

# The kernel module is built for, and tested on, Debian's 6.1 kernel in a VM
# (make vmtest): its headers, at the version linux-image-amd64 points to now;
# and for its PREEMPT_RT flavour, linux-image-rt-amd64 (tests/vmrt.t).
for kimg in amd64 rt-amd64; do
	[ "$(id -u)" = 0 ] || break
	# 6.1.0-N-amd64 (a digit before -amd64), 6.1.0-N-rt-amd64
	[ "$kimg" = amd64 ] && glob='[0-9]-amd64' || glob="-$kimg"
	# shellcheck disable=SC2086
	ls -d /usr/src/linux-headers-6.1.*$glob >/dev/null 2>&1 && continue
	[ -n "${updated:-}" ] || apt-get update -qq
	updated=1
	kver=$(apt-cache depends "linux-image-$kimg" 2>/dev/null |
		sed -n "s/.*Depends: linux-image-\(6\.1\.[^ ]*$glob\)\$/\1/p" | head -n 1)
	[ -n "$kver" ] && PKGS="$PKGS linux-headers-$kver"
done

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages:$missing (run as root)" >&2
		exit 1
	fi
	echo "install-deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# promtool checks the --metrics-file output (tests/outputs.t). It comes in
# Debian's prometheus package, whose server would start (and listen on
# :9090) if the package were installed: only promtool is taken out of it,
# into a cache outside the checkout. It links only libc.
PROMTOOL=${LW_PROMTOOL:-/var/cache/lockwatch/bin/promtool}
if [ ! -x "$PROMTOOL" ] && [ "$(id -u)" = 0 ]; then
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1) ||
		{ apt-get update -qq && (cd "$tmp" && apt-get download -qq prometheus >/dev/null); }
	dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root" &&
		mkdir -p "$(dirname "$PROMTOOL")" &&
		install -m 0755 "$tmp/root/usr/bin/promtool" "$PROMTOOL" ||
		echo "install-deps: could not take promtool out of Debian's prometheus package" >&2
	rm -rf "$tmp"
fi

# PostgreSQL 15's server, initdb, pg_ctl and pgbench for the soak, out of
# Debian's postgresql-15 package into a cache outside the checkout: installed,
# the package would create a cluster and start a server on :5432 at every
# boot. The soak runs its own server on a socket in its scratch directory.
# The binaries find their share/ and lib/ relative to where they are.
PGROOT=${LW_PGROOT:-/var/cache/lockwatch/postgresql}
if [ ! -x "$PGROOT/usr/lib/postgresql/15/bin/pgbench" ] && [ "$(id -u)" = 0 ]; then
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -qq postgresql-15 >/dev/null 2>&1) ||
		{ apt-get update -qq && (cd "$tmp" && apt-get download -qq postgresql-15 >/dev/null); }
	rm -rf "$PGROOT.new" && mkdir -p "$PGROOT.new" &&
		dpkg-deb -x "$tmp"/postgresql-15_*.deb "$PGROOT.new" &&
		"$PGROOT.new/usr/lib/postgresql/15/bin/postgres" --version >/dev/null &&
		rm -rf "$PGROOT" && mv "$PGROOT.new" "$PGROOT" ||
		echo "install-deps: could not take PostgreSQL out of Debian's postgresql-15 package" >&2
	rm -rf "$tmp" "$PGROOT.new"
fi

if [ ! -d /sys/kernel/tracing/events ] && [ "$(id -u)" = 0 ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null ||
		echo "install-deps: could not mount tracefs on /sys/kernel/tracing" >&2
fi
exit 0

# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # IN_ROOT is for the .t files
# lib-pyroot.sh - the CPythons other Debian releases ship, each run in its
# own root (scripts/pychroot.sh builds and caches them), in a mount namespace
# of its own with the checkout, the tests' temporary folder and /proc bound
# in: lockwatch reads such a process through /proc/PID/root and its maps.
# Sourced after lib.sh.

# in_root NAME SUITE PYTHON PACKAGE...: IN_ROOT=$LW_TMP/NAME, a python that
# runs PYTHON of SUITE in its root (built or brought up to date first).
in_root()
{
	local name=$1 suite=$2 py=$3 root

	shift 3
	root=$("$LW_ROOT/scripts/pychroot.sh" "$suite" "$@") ||
		tap_bail "scripts/pychroot.sh $suite $*: no $suite root (network? see its log)"
	# its own mount namespace: the binds go with it; exec keeps the pid
	cat >"$LW_TMP/$name" <<EOS
#!/bin/sh
exec unshare --mount --propagation private /bin/sh -c '
	mkdir -p "\$0$LW_ROOT" && mount --bind "$LW_ROOT" "\$0$LW_ROOT" &&
	mkdir -p "\$0$LW_TMP" && mount --bind "$LW_TMP" "\$0$LW_TMP" &&
	mount -t proc proc "\$0/proc" &&
	exec chroot "\$0" "$py" "\$@"' "$root" "\$@"
EOS
	chmod +x "$LW_TMP/$name"
	IN_ROOT=$LW_TMP/$name
}

# The mount points made in the roots for this run's folder.
roots_clean()
{
	local root

	for root in "${LW_CHROOT_DIR:-/var/cache/lockwatch/chroot}"/*/; do
		rmdir "$root${LW_TMP#/}" 2>/dev/null
	done
}

# One root per suite, with all its interpreters from the start.
TRIXIE_PKGS="python3.13 python3.13-dev"
SID_PKGS="python3.14 python3.14-dev python3.15 python3.15-dev"

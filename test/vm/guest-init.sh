#!/bin/busybox sh
# /init of the vm tier's guest (test/vm/initramfs.ts builds the initramfs around it).
#
# Loads the modules the package ships as modules (virtio, 9p, ext4 ...), mounts the host's "/"
# read-only over 9p and switches root into it, so the guest runs the host's node, the host's build of
# ACES (dist/, bpf/build/aces.bpf.o) and the project's own test files against this kernel. The
# new root gets what a booted Debian system has: tmpfs on /tmp /var/tmp /run, devtmpfs, proc,
# sysfs, securityfs, tracefs, bpffs, binfmt_misc, and the cgroup layout of the project's CI host
# (v1 controllers under a tmpfs at /sys/fs/cgroup, cgroup2 at /sys/fs/cgroup/unified). Results go
# to a second, writable 9p share. Every step prints "aces-vm: ..." on the console, where the
# host reads progress; the guest powers itself off at the end, whatever happened.
/bin/busybox mkdir -p /proc /sys /dev /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

say() { echo "aces-vm: $*"; }
die() {
	say "FAILED: $*"
	sync
	poweroff -f
	sleep 5
	echo o > /proc/sysrq-trigger
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /aces-vm.env
say "kernel $(uname -r), lsm=$(cat /sys/kernel/security/lsm 2>/dev/null || echo '?')"

# Dependencies come first in the list; a failure is retried once the others are in (a module
# whose dependency was built in under another name, or a slow device).
for pass in 1 2 3 4; do
	left=""
	while read -r m; do
		grep -q "^$m " /proc/modules && continue
		insmod "/modules/$m.ko" 2>/dev/null || left="$left $m"
	done < /modules/order
	[ -z "$left" ] && break
	sleep 1
done
[ -z "$left" ] || say "modules not loaded:$left"

R=/newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot $R || die "mount the host root over 9p"
# A checkout under /tmp, /var/tmp or /run (where CI may clone) would be hidden by the tmpfs
# mounts below: hold it aside and put it back on top.
mkdir -p /keep
kept=""
case "$ACES_REPO" in
/tmp/*|/var/tmp/*|/run/*) mount -o bind "$R$ACES_REPO" /keep && kept=1 || die "hold $ACES_REPO" ;;
esac
for d in /run /tmp /var/tmp; do
	mount -t tmpfs -o mode=1777,size=2g tmpfs $R$d || die "tmpfs on $d"
done
if [ -n "$kept" ]; then
	mkdir -p "$R$ACES_REPO" && mount --move /keep "$R$ACES_REPO" || die "put $ACES_REPO back"
fi
chmod 755 $R/run
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t securityfs securityfs $R/sys/kernel/security
mount -t tracefs tracefs $R/sys/kernel/tracing
mount -t bpf bpf $R/sys/fs/bpf
mount -t binfmt_misc binfmt_misc $R/proc/sys/fs/binfmt_misc || say "no binfmt_misc"

mount -t tmpfs -o mode=755 cgroup $R/sys/fs/cgroup
for c in pids cpu,cpuacct devices freezer blkio memory net_cls,net_prio perf_event; do
	mkdir -p $R/sys/fs/cgroup/$c
	mount -t cgroup -o $c cgroup $R/sys/fs/cgroup/$c 2>/dev/null || rmdir $R/sys/fs/cgroup/$c
done
mkdir -p $R/sys/fs/cgroup/unified
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup/unified || die "cgroup2"

mkdir -p $R/run/aces-vm/results $R/run/aces-vm/disk
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results $R/run/aces-vm/results || die "mount the results share"
# The test disk stands for the host's disk: mounted by the host (here), so that a container
# mounting it again reuses the superblock, as on a real host.
if [ -b /dev/vda ]; then
	mount -t ext4 /dev/vda $R/run/aces-vm/disk || say "cannot mount /dev/vda"
fi
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

say "switch_root: $ACES_NODE $ACES_RUNNER"
# pid 1 itself changes root (switch_root execs in this process): kernel threads share pid 1's
# fs_struct, so usermode helpers (release_agent, core_pattern pipes) resolve their paths in the
# host's tree, as on a booted system. switch_root moves the tree onto "/" before its chroot, so
# the root is the mount namespace's own root, not a chroot: the kernel refuses user namespaces
# (unshare -U) to chrooted tasks. The host's static busybox is pid 1 then.
export ACES_NODE ACES_RUNNER
exec switch_root $R /bin/busybox sh -c '
	/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 TMPDIR=/tmp "$ACES_NODE" "$ACES_RUNNER" /run/aces-vm/results
	echo "aces-vm: runner exited $?"
	sync
	echo "aces-vm: power off"
	/bin/busybox poweroff -f
	sleep 5
	echo o > /proc/sysrq-trigger'

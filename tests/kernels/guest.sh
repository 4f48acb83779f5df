#!/bin/bash
# The guest's second stage, on the host's root (overlay): the mounts a booted system would have,
# the memory cgroup hierarchy asked for (tkt_cgroup=v1 or v2), then COMMAND from cmd.sh in the
# run directory; its status goes to rc there and the guest powers off.
dir=$(dirname "$0")
mount -t proc proc /proc
cg=v2
for a in $(cat /proc/cmdline); do
	case $a in tkt_cgroup=*) cg=${a#*=} ;; esac
done
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
if [ "$cg" = v1 ]; then
	# As on a systemd machine booted with the legacy hierarchy: v1 memory, cgroup2 without it.
	mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
	mkdir /sys/fs/cgroup/memory /sys/fs/cgroup/unified
	mount -t cgroup -o memory memory /sys/fs/cgroup/memory
	mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
else
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
fi
hostname tktrace-guest 2>/dev/null
ip link set lo up 2>/dev/null
stty -F /dev/ttyS0 -onlcr 2>/dev/null
export TERM=dumb HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
/bin/bash "$dir/cmd.sh" </dev/null >/dev/ttyS0 2>&1
echo $? >"$dir/rc"
sync
# reboot(2) ends qemu (-no-reboot) without the message sysrq prints; sysrq if that fails.
/usr/bin/python3 -c 'import ctypes; ctypes.CDLL(None).reboot(0x1234567)' 2>/dev/null
echo b >/proc/sysrq-trigger

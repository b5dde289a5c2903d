#!/bin/busybox sh
# /init of the HIL guest (packed into the initramfs by cross/hil.sh).
#
# Loads the kernel modules, creates the virtual devices (vivid camera, gpio-sim chip,
# i2c-stub at 0x3c), runs the checks and the cross-compiled test binaries, and prints
# result lines the host parses:
#   HIL-CHECK <name> ok|FAILED           checks done by this script
#   HIL-BEGIN <binary> / HIL-END <binary> rc=<n>, with libtest's "test <name> ... ok" between
#   HIL-DONE                             everything ran (the host fails the run without it)
# then powers the VM off.

/bin/busybox mkdir -p /proc /sys /dev /tmp /run /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
dmesg -n 1

export PATH=/hil/bin:/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib/aarch64-linux-gnu
export HOME=/tmp
export RUST_BACKTRACE=1

check() { # check NAME COMMAND...
    name=$1
    shift
    if "$@"; then echo "HIL-CHECK $name ok"; else echo "HIL-CHECK $name FAILED"; fi
}

param() { # value of hil.NAME= on the kernel command line
    for word in $(cat /proc/cmdline); do
        case $word in "hil.$1="*) echo "${word#hil.$1=}" ;; esac
    done
}

# Modules, dependencies first (cross/hil.sh wrote the order and the arguments).
while read -r module args; do
    [ -n "$module" ] || continue
    # shellcheck disable=SC2086 # the arguments are words on purpose
    insmod "/lib/modules/$module" $args || echo "hil: insmod $module failed"
done </lib/modules/load.list

# gpio-sim: one chip, one bank of 8 lines, line 0 named "button".
mkdir -p /sys/kernel/config
mount -t configfs configfs /sys/kernel/config
sim=/sys/kernel/config/gpio-sim/hil
if mkdir "$sim" && mkdir "$sim/bank0" && echo 8 >"$sim/bank0/num_lines" &&
    echo hil-gpio >"$sim/bank0/label" && mkdir "$sim/bank0/line0" &&
    echo button >"$sim/bank0/line0/name" && echo 1 >"$sim/live"; then
    gpiochip=$(cat "$sim/bank0/chip_name")
    simdev=$(cat "$sim/dev_name")
else
    gpiochip=missing
    simdev=missing
fi
mdev -s 2>/dev/null
pull=/sys/devices/platform/$simdev/$gpiochip/sim_gpio0/pull

check video0-node test -c /dev/video0
check gpiochip-node test -c "/dev/$gpiochip"
check gpio-sim-pull test -w "$pull"
check i2c-0-node test -c /dev/i2c-0
check i2c-0-is-stub grep -q 'SMBus stub driver' /sys/class/i2c-dev/i2c-0/name

# What the device tests read (see tests/hil_*.rs).
export HV_HIL_VIDEO=/dev/video0
export HV_HIL_GPIO_CHIP=/dev/$gpiochip
export HV_HIL_GPIO_LINE=0
export HV_HIL_GPIO_PULL=$pull
export HV_HIL_I2C_BUS=/dev/i2c-0
export HV_HIL_I2C_ADDR=0x3c
[ -f /hil/litert/libLiteRt.so ] && export HEMATOVISION_LITERT_LIB=/hil/litert/libLiteRt.so
[ -d /hil/models ] && export HV_HIL_MODELS=/hil/models
[ -x /hil/bin/hematovision ] && export HV_HIL_DAEMON=/hil/bin/hematovision
cd /hil || true

filter=$(param filter)
for bin in /hil/tests/*; do
    [ -x "$bin" ] || continue
    name=${bin##*/}
    echo "HIL-BEGIN $name"
    # shellcheck disable=SC2086 # an empty filter must vanish
    "$bin" --ignored --test-threads=1 --show-output $filter 2>&1
    echo "HIL-END $name rc=$?"
done

# Kernel warnings help explain a failure; they do not decide one.
dmesg | grep -iE 'warn|bug|oops|gpio|i2c|vivid|irq' | sed 's/^/HIL-DMESG /' | tail -n 60
echo "HIL-DONE"
sync
poweroff -f

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ACES object: every program and map in one file, so that the same object loads on every
 * kernel and user space picks, per program, whether it loads (autoload) for the tier in force.
 * Families live in <family>.bpf.c and are included here so the maps are defined once.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "aces.h"
#include "maps.bpf.h"
#include "presence.bpf.h"
#include "task.bpf.h"
#include "classify.bpf.h"
#include "emit.bpf.h"
#include "verdict.bpf.h"
#include "devcheck.bpf.h"
#include "file.bpf.h"
#include "ctrfs.bpf.h"
#include "proc.bpf.h"
#include "integrity.bpf.h"
#include "hook.bpf.h"

#include "exec.bpf.c"
#include "files.bpf.c"
#include "mount.bpf.c"
#include "sysctl.bpf.c"
#include "device.bpf.c"
#include "quarantine.bpf.c"
#include "ns.bpf.c"
#include "ptrace.bpf.c"
#include "kernel.bpf.c"
#include "runtime.bpf.c"
#include "uring.bpf.c"
#include "lsm.bpf.c"

char LICENSE[] SEC("license") = "GPL";

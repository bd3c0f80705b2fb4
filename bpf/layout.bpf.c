/* SPDX-License-Identifier: GPL-2.0 */
/* Instantiates every wire struct so that their BTF can be compared with src/wire/ (layout test). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "aces.h"

struct aces_event layout_event SEC(".data.layout");
struct aces_exit layout_exit SEC(".data.layout");
struct aces_container layout_container SEC(".data.layout");
struct aces_config layout_config SEC(".data.layout");
struct aces_rule_cfg layout_rule_cfg SEC(".data.layout");
struct aces_offender_key layout_offender_key SEC(".data.layout");
struct aces_offender layout_offender SEC(".data.layout");
struct aces_ctr_fs_key layout_ctr_fs_key SEC(".data.layout");
struct aces_file_key layout_file_key SEC(".data.layout");
struct aces_cgroup layout_cgroup SEC(".data.layout");

char LICENSE[] SEC("license") = "GPL";

// Open snoop: one perf buffer record per openat() of the process target_pid
// (every process when 0), for `purebpf run --target-pid N`.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct open_event {
    __u64 ts_ns;
    __u32 pid;
    int flags;
    char comm[16];
    char fname[64];
};

const volatile pid_t target_pid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} events SEC(".maps");

// puts struct open_event in the object's BTF for user space to decode records with
const struct open_event *unused_open_event __attribute__((unused));

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct trace_event_raw_sys_enter *ctx)
{
    struct open_event e = {};
    __u32 pid = bpf_get_current_pid_tgid() >> 32;

    if (target_pid && pid != target_pid)
        return 0;
    e.ts_ns = bpf_ktime_get_ns();
    e.pid = pid;
    e.flags = (int)ctx->args[2];
    bpf_get_current_comm(&e.comm, sizeof(e.comm));
    bpf_probe_read_user_str(&e.fname, sizeof(e.fname), (const char *)ctx->args[1]);
    bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
    return 0;
}

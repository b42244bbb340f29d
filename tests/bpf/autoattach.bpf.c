// Programs whose section names say where to attach: a uprobe and uretprobe on
// libc's getpid, a raw tracepoint and a BTF tracepoint on sys_enter.
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_pid = 0;

__u64 uprobe_hits = 0;
__u64 uretprobe_hits = 0;
__u64 raw_tp_hits = 0;
__u64 tp_btf_hits = 0;

static __always_inline int mine(void)
{
    return (bpf_get_current_pid_tgid() >> 32) == target_pid;
}

SEC("uprobe/libc.so.6:getpid")
int on_getpid(void *ctx)
{
    if (mine())
        __sync_fetch_and_add(&uprobe_hits, 1);
    return 0;
}

SEC("uretprobe/libc.so.6:getpid")
int on_getpid_return(void *ctx)
{
    if (mine())
        __sync_fetch_and_add(&uretprobe_hits, 1);
    return 0;
}

SEC("raw_tp/sys_enter")
int on_sys_enter(void *ctx)
{
    if (mine())
        __sync_fetch_and_add(&raw_tp_hits, 1);
    return 0;
}

SEC("tp_btf/sys_enter")
int on_sys_enter_btf(void *ctx)
{
    if (mine())
        __sync_fetch_and_add(&tp_btf_hits, 1);
    return 0;
}

SEC("xdp")
int not_auto_attached(struct xdp_md *ctx)
{
    return XDP_PASS;
}

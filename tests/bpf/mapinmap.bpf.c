// Map-in-map with initial values, and .kconfig externs.
#include <linux/bpf.h>
#include <linux/types.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig __weak;

struct inner {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct inner);
} outer SEC(".maps") = {
    .values = { &inner_a, &inner_b },
};

__u64 seen_a = 0;
__u64 seen_b = 0;
__u32 kernel_version = 0;
__u32 has_bpf_syscall = 0;
__u32 hz = 0;

static __u64 read_slot(__u32 slot)
{
    __u32 zero = 0;
    void *inner = bpf_map_lookup_elem(&outer, &slot);
    __u64 *val;

    if (!inner)
        return 0;
    val = bpf_map_lookup_elem(inner, &zero);
    return val ? *val : 0;
}

SEC("xdp")
int read_inner(struct xdp_md *ctx)
{
    seen_a = read_slot(0);
    seen_b = read_slot(1);
    kernel_version = LINUX_KERNEL_VERSION;
    has_bpf_syscall = CONFIG_BPF_SYSCALL;
    hz = CONFIG_HZ;
    return XDP_PASS;
}

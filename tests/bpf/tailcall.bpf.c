// A tail call through a prog array whose slots are filled from the object.
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u32 reached = 0;

SEC("xdp")
int tail_pass(struct xdp_md *ctx)
{
    reached = 1;
    return XDP_PASS;
}

SEC("xdp")
int tail_tx(struct xdp_md *ctx)
{
    reached = 2;
    return XDP_TX;
}

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, int (void *));
} jump_table SEC(".maps") = {
    .values = {
        [0] = (void *)&tail_pass,
        [2] = (void *)&tail_tx,
    },
};

const volatile __u32 slot = 0;

SEC("xdp")
int entry(struct xdp_md *ctx)
{
    bpf_tail_call(ctx, &jump_table, slot);
    return XDP_DROP;   // empty slot
}

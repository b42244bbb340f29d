// A map in the legacy "maps" section (struct bpf_map_def), as pre-BTF programs wrote them,
// and a __hidden global function (verified with its caller).
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct legacy_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct legacy_map_def hits SEC("maps") = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 4,
};

__attribute__((noinline, visibility("hidden"))) int add_hit(__u32 slot)
{
    __u64 *val = bpf_map_lookup_elem(&hits, &slot);

    if (!val)
        return 0;
    __sync_fetch_and_add(val, 1);
    return 1;
}

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
    add_hit(2);
    return XDP_PASS;
}

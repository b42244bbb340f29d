// Log2 histograms of write() sizes of target_pid: per comm in a hash map of
// struct hist { __u32 slots[]; } (libbpf-tools' shape) and in an array map of
// buckets, for `purebpf run --hist`.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_SLOTS 32

struct hist_key {
    char comm[16];
};

struct hist {
    __u32 slots[MAX_SLOTS];
};

const volatile pid_t target_pid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, struct hist_key);
    __type(value, struct hist);
} hists SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MAX_SLOTS);
    __type(key, __u32);
    __type(value, __u64);
} buckets SEC(".maps");

static struct hist zero;

static __always_inline __u32 log2l(__u64 v)
{
    __u32 r = 0;

    #pragma unroll
    for (int i = 32; i > 0; i >>= 1) {
        if (v >= (1ULL << i)) {
            v >>= i;
            r += i;
        }
    }
    return r;
}

SEC("tracepoint/syscalls/sys_enter_write")
int count_write(struct trace_event_raw_sys_enter *ctx)
{
    struct hist_key key = {};
    struct hist *h;
    __u64 *bucket;
    __u32 slot, bucket_key;

    if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)
        return 0;
    slot = log2l(ctx->args[2]);
    if (slot >= MAX_SLOTS)
        slot = MAX_SLOTS - 1;
    slot &= MAX_SLOTS - 1;  // a bound the verifier can see
    bucket_key = slot;  // a copy: slot itself stays in a register with its bound
    bucket = bpf_map_lookup_elem(&buckets, &bucket_key);
    if (bucket)
        __sync_fetch_and_add(bucket, 1);
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
    h = bpf_map_lookup_elem(&hists, &key);
    if (!h) {
        bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
        h = bpf_map_lookup_elem(&hists, &key);
        if (!h)
            return 0;
    }
    __sync_fetch_and_add(&h->slots[slot], 1);
    return 0;
}

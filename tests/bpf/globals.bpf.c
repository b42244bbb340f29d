// Global data, a BTF-defined hash map and bpf-to-bpf calls, on a tracepoint.
// Counts getpid() calls of the process whose tgid is target_pid (0: any).
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_pid = 0;      // .rodata: set before load
const volatile __u64 increment = 1;

__u64 getpid_count = 0;                   // .bss
__u64 last_pid_tgid = 0;                  // .bss
__u32 calls_seen = 7;                     // .data (non-zero initial value)
__u64 extra_counter SEC(".data.extra") = 100;   // custom data section

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

// static subprogram: a bpf-to-bpf call in .text
static __attribute__((noinline)) __u64 bump(__u64 *slot, __u64 by)
{
    *slot += by;
    return *slot;
}

// global function: verified on its own, called through the same relocation kind
__attribute__((noinline)) int record_pid(__u32 tgid)
{
    __u64 one = 1, *val = bpf_map_lookup_elem(&counts, &tgid);
    if (val) {
        __sync_fetch_and_add(val, 1);
        return 1;
    }
    bpf_map_update_elem(&counts, &tgid, &one, BPF_NOEXIST);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32;

    if (target_pid && tgid != target_pid)
        return 0;
    bump(&getpid_count, increment);
    last_pid_tgid = id;
    calls_seen++;
    extra_counter++;
    record_pid(tgid);
    return 0;
}

// a second program in the same section kind, sharing the subprogram
SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;

    if (target_pid && tgid != target_pid)
        return 0;
    bump(&getpid_count, 1000);
    return 0;
}

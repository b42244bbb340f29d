// One ring buffer record per getpid() of target_pid: a syscall-rate event
// source for the `purebpf run` throughput benchmark and tests.
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
    __u64 ts_ns;
    __u32 pid;
    __u32 seq;
    char comm[16];
};

const volatile __u32 target_pid = 0;
__u32 seq = 0;
__u64 dropped = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct event *unused_event __attribute__((unused));

SEC("tp/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
    struct event *e;

    if ((bpf_get_current_pid_tgid() >> 32) != target_pid)
        return 0;
    e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __sync_fetch_and_add(&dropped, 1);
        return 0;
    }
    e->ts_ns = bpf_ktime_get_ns();
    e->pid = target_pid;
    e->seq = seq++;  // one writer: the target process
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
    return 0;
}

// Every kind of global `purebpf run` turns into an option, echoed back in a
// ring buffer record (declared with __type(value, struct config)) on each
// getpid() of target_pid, so tests see what reached the kernel.
#include <linux/bpf.h>
#include <linux/types.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum mode { MODE_OFF = 0, MODE_FAST = 1, MODE_SLOW = 7 };

struct config {
    __u32 target_pid;
    int level;
    enum mode mode;
    bool verbose;
    bool quiet;
    char label[12];
    __s64 offset;
    __u64 hits;
};

const volatile __u32 target_pid = 0;
const volatile bool verbose = false;
const volatile bool quiet = true;
const volatile enum mode mode = MODE_FAST;
const volatile char label[12] = "none";
const volatile __s64 offset = -5;
int level = 3;              // .data
__u64 hits = 0;             // .bss

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
    __type(value, struct config);
} configs SEC(".maps");

SEC("tp/syscalls/sys_enter_getpid")
int echo_config(void *ctx)
{
    struct config *c;

    if ((bpf_get_current_pid_tgid() >> 32) != target_pid)
        return 0;
    hits++;
    c = bpf_ringbuf_reserve(&configs, sizeof(*c), 0);
    if (!c)
        return 0;
    c->target_pid = target_pid;
    c->level = level;
    c->mode = mode;
    c->verbose = verbose;
    c->quiet = quiet;
    bpf_probe_read_kernel(c->label, sizeof(c->label), (const void *)label);  // a memcpy would be folded
    c->offset = offset;
    c->hits = hits;
    bpf_ringbuf_submit(c, 0);
    return 0;
}

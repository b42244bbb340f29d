// Exec snoop: one ring buffer record per exec (pid, ppid, comm, filename),
// for `purebpf run`.  The ring buffer is tied to its record type by
// __type(value, struct event); the record is also what bpf_ringbuf_reserve sizes.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127

struct event {
    int pid;
    int ppid;
    unsigned int uid;
    char comm[TASK_COMM_LEN];
    char filename[MAX_FILENAME_LEN];
};

const volatile bool ignore_root = false;   // --ignore-root: a boolean option

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} rb SEC(".maps");

// keeps struct event in the object's BTF (clang emits no BTF for locals' types)
struct event *unused_event_type __attribute__((unused));

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    unsigned int fname_off = ctx->__data_loc_filename & 0xFFFF;
    unsigned int uid = (unsigned int)bpf_get_current_uid_gid();
    struct event *e;

    if (ignore_root && uid == 0)
        return 0;
    e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = bpf_get_current_pid_tgid() >> 32;
    e->ppid = BPF_CORE_READ(task, real_parent, tgid);
    e->uid = uid;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    bpf_probe_read_str(&e->filename, sizeof(e->filename), (void *)ctx + fname_off);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

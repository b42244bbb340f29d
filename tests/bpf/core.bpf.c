// CO-RE: read task->real_parent->tgid through relocations against the kernel's BTF.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int target_pid = 0;

int parent_tgid = 0;
int has_real_parent = 0;
int has_bogus_field = 0;
int task_size_ok = 0;
int pid_enum_value = -1;
int prio_is_signed = 0;
long long in_execve = -1;
unsigned int task_btf_id = 0;
int old_flavour_exists = 0;
int tgid_enum_exists = 0;

// a local "flavour" of task_struct with a field the kernel does not have
struct task_struct___old {
    int pid;
    long made_up_field;
} __attribute__((preserve_access_index));

SEC("tracepoint/syscalls/sys_enter_getppid")
int read_parent(void *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct task_struct___old *old = (void *)task;

    if ((bpf_get_current_pid_tgid() >> 32) != target_pid)
        return 0;
    parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
    has_real_parent = bpf_core_field_exists(task->real_parent);
    has_bogus_field = bpf_core_field_exists(old->made_up_field);
    task_size_ok = bpf_core_type_size(struct task_struct) > 1000;
    pid_enum_value = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
    prio_is_signed = __builtin_preserve_field_info(task->prio, BPF_FIELD_SIGNED);
    in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
    task_btf_id = bpf_core_type_id_kernel(struct task_struct);
    old_flavour_exists = bpf_core_type_exists(struct task_struct___old);
    tgid_enum_exists = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID);
    return 0;
}

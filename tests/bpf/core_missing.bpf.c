// A CO-RE read of a field the kernel does not have, not guarded by
// bpf_core_field_exists: loading must fail naming the type and field.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

long value = 0;

struct task_struct___missing {
    long no_such_field_in_kernel;
} __attribute__((preserve_access_index));

SEC("tracepoint/syscalls/sys_enter_getppid")
int read_missing(void *ctx)
{
    struct task_struct___missing *task = (void *)bpf_get_current_task();

    value = BPF_CORE_READ(task, no_such_field_in_kernel);
    return 0;
}

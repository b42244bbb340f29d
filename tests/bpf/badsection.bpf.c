// A program in a section whose name says no program type.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("not_a_known_section/foo")
int mystery(void *ctx)
{
    return 0;
}

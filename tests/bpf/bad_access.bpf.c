// Reads packet data without a bounds check: the verifier refuses it, and the
// error must show this C line (from .BTF.ext line_info).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int unchecked_read(struct xdp_md *ctx)
{
    return *(int *)(long)ctx->data;
}

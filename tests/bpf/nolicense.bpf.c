// No license section: loading must refuse with a message saying how to add one.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int no_license(struct xdp_md *ctx)
{
    return XDP_PASS;
}

// SPDX-License-Identifier: Apache-2.0
// The native face of the XDP metadata kfuncs (net/core/xdp.c,
// emu/xdp_meta_kfuncs.h): a natively built program's `extern ... __ksym`
// declarations (weak) resolve to these definitions. No emulated device
// has xdp_metadata_ops, so every program gets the generic kfuncs'
// -EOPNOTSUPP, as a program that is not bound to such a device does.

#include <cstdint>

#include "emu/xdp_meta_kfuncs.h"

namespace xdpmeta = bpfemu::xdpmeta;

extern "C" {

struct xdp_md;

int bpf_xdp_metadata_rx_timestamp(const struct xdp_md* ctx,
                                  uint64_t* timestamp) {
  return xdpmeta::RxTimestamp(ctx, timestamp);
}

int bpf_xdp_metadata_rx_hash(const struct xdp_md* ctx, uint32_t* hash,
                             uint32_t* rss_type) {
  return xdpmeta::RxHash(ctx, hash, rss_type);
}

int bpf_xdp_metadata_rx_vlan_tag(const struct xdp_md* ctx, uint16_t* vlan_proto,
                                 uint16_t* vlan_tci) {
  return xdpmeta::RxVlanTag(ctx, vlan_proto, vlan_tci);
}

}  // extern "C"

// SPDX-License-Identifier: Apache-2.0
// What tests/examples/kern_ctx.bpf.c answers on the 6.18 kernel (measured
// with BPF_PROG_TEST_RUN as root) for the packet below: the struct sk_buff
// fields read through bpf_cast_to_kern_ctx (v[0..12]), the same fields
// through struct __sk_buff (v[16..24]), the sk_buff again through
// bpf_rdonly_cast (v[25..26]) and an IPv4 header through it (v[27..31]).

#ifndef BPFEMU_TESTS_EXAMPLES_KERN_CTX_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_KERN_CTX_CASES_H_

#include <array>
#include <cstdint>
#include <vector>

#include "tests/examples/packets.h"

namespace bpfemu::examples::kern_ctx {

inline constexpr int kVals = 32;

inline std::vector<uint8_t> Packet() {
  return Ipv4Frame(0x0a000001, 0x0a000002, 1000, 53, 17, 64);
}

// -1: not written by the program.
inline constexpr std::array<int64_t, kVals> kWant = {
    64, 0, 0, 0, 7, 0x12345, 0, 8,     // len .. protocol (ETH_P_IP, be16)
    0, 3, 0, 14, 0,                    // vlan_tci, tc_index, skb_iif,
                                       // network - mac header, hdr_len
    -1, -1, -1,                        //
    64, 0x12345, 7, 8, 0, 0, 3, 0, 0,  // the __sk_buff view
    64, 0x12345,                       // bpf_rdonly_cast of the sk_buff
    64, 17, 0x0100000a, 0x0200000a,    // ttl, protocol, saddr, daddr
    0x3200,                            // tot_len (50, network order)
};

}  // namespace bpfemu::examples::kern_ctx

#endif  // BPFEMU_TESTS_EXAMPLES_KERN_CTX_CASES_H_

// SPDX-License-Identifier: Apache-2.0
// The scenarios of tests/examples/ct_kfuncs.bpf.c and what the 6.18 kernel
// answers for them (measured with BPF_PROG_TEST_RUN as root), for
// ct_kfuncs_compare_test (kernel against bpfemu) and ct_kfuncs_test
// (bpfemu without root). Every case names its own tuple (127.48.x.y ->
// 192.0.2.1:80, the source port from the case, the program and the face),
// so entries the host's table still holds from an earlier case or run do
// not meet a later one: the entries time out within seconds.

#ifndef BPFEMU_TESTS_EXAMPLES_CT_KFUNCS_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_CT_KFUNCS_CASES_H_

#include <arpa/inet.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace bpfemu::examples::ct_kfuncs {

// struct cfg and struct out of ct_kfuncs.bpf.c.
struct Cfg {
  uint32_t op;
  uint32_t tuple_sz;
  uint32_t opts_sz;
  int32_t netns_id;
  uint8_t l4proto;
  uint8_t zone_dir;
  uint16_t zone_id;
  uint8_t reserved[4];
  uint32_t timeout;
  uint32_t status;
  uint32_t mark;
  uint32_t timeout2;
  uint32_t status2;
  int32_t nat_manip;
  int32_t nat_port;
  uint32_t nat_addr;
  uint16_t lookup_zone;
  uint8_t reverse;
  uint8_t pad;
  uint32_t saddr, daddr;
  uint16_t sport, dport;
};

struct Out {
  int64_t r[10];
  int32_t err[3];
  uint32_t dir[3];
  uint32_t zdir[3];
  uint32_t status[3];
  uint32_t mark[3];
  int32_t left[3];
  uint32_t same;
  uint32_t reply_saddr, reply_daddr;
  uint16_t reply_sport, reply_dport;
};

inline constexpr uint32_t kOpLookup = 1, kOpAlloc = 2, kOpFull = 3, kOpDup = 4;
inline constexpr int64_t kUnset = -1000;

// A fresh output: every answer kUnset, every read 0xdeadbeef.
inline Out Fresh() {
  Out o;
  std::memset(&o, 0xef, sizeof(o));
  for (int64_t& r : o.r) r = kUnset;
  for (int32_t& e : o.err) e = 0;
  return o;
}

struct Case {
  std::string name;
  std::function<void(Cfg*)> set;
  // What the kernel answers (r: the first answers; err: opts->error).
  std::vector<int64_t> r;
  std::vector<int32_t> err;
};

// The defaults every case starts from: a TCP flow over IPv4, the 16-byte
// opts, the current namespace, 1 s timeouts; NAT to 127.49.x.y.
inline Cfg Base(uint32_t op, uint16_t sport, uint16_t host) {
  Cfg c{};
  c.op = op;
  c.tuple_sz = 12;
  c.opts_sz = 16;
  c.netns_id = -1;
  c.l4proto = 6;
  c.timeout = 1000;
  c.timeout2 = 2000;
  c.status2 = 8;  // IPS_CONFIRMED, which a confirmed entry must keep
  c.nat_manip = -1;
  c.nat_addr = htonl(0x7f310000u | host);
  c.saddr = htonl(0x7f300000u | host);
  c.daddr = htonl(0xc0000201u);
  c.sport = htons(sport);
  c.dport = htons(80);
  return c;
}

inline std::vector<Case> Cases() {
  using C = Cfg;
  const int64_t U = kUnset;
  return {
      // __bpf_nf_ct_lookup's checks, in its order.
      {"lookup_opts_sz_8",
       [](C* c) { c->op = kOpLookup, c->opts_sz = 8; },
       {0},
       {-EINVAL}},
      {"lookup_opts_sz_4",
       [](C* c) { c->op = kOpLookup, c->opts_sz = 4; },
       {0},
       {0}},
      {"lookup_opts_sz_20",
       [](C* c) { c->op = kOpLookup, c->opts_sz = 20; },
       {0},
       {-EINVAL}},
      {"lookup_reserved0",
       [](C* c) { c->op = kOpLookup, c->reserved[0] = 1; },
       {0},
       {-EINVAL}},
      {"lookup_reserved2",
       [](C* c) { c->op = kOpLookup, c->reserved[2] = 1; },
       {0},
       {-EINVAL}},
      {"lookup_old_opts_zone",
       [](C* c) { c->op = kOpLookup, c->opts_sz = 12, c->zone_id = 1; },
       {0},
       {-EINVAL}},
      {"lookup_icmp",
       [](C* c) { c->op = kOpLookup, c->l4proto = 1; },
       {0},
       {-EPROTO}},
      {"lookup_icmp_bad_netns",
       [](C* c) { c->op = kOpLookup, c->l4proto = 1, c->netns_id = -2; },
       {0},
       {-EPROTO}},
      {"lookup_bad_netns",
       [](C* c) { c->op = kOpLookup, c->netns_id = -2; },
       {0},
       {-EINVAL}},
      {"lookup_tuple_sz_13",
       [](C* c) { c->op = kOpLookup, c->tuple_sz = 13; },
       {0},
       {-EAFNOSUPPORT}},
      {"lookup_tuple_sz_0",
       [](C* c) { c->op = kOpLookup, c->tuple_sz = 0; },
       {0},
       {-EAFNOSUPPORT}},
      {"lookup_netns_f00",
       [](C* c) { c->op = kOpLookup, c->netns_id = 0xf00; },
       {0},
       {-ENONET}},
      {"lookup_miss", [](C* c) { c->op = kOpLookup; }, {0}, {-ENOENT}},
      {"lookup_miss_old_opts",
       [](C* c) { c->op = kOpLookup, c->opts_sz = 12; },
       {0},
       {-ENOENT}},
      {"lookup_miss_udp_v6",
       [](C* c) { c->op = kOpLookup, c->l4proto = 17, c->tuple_sz = 36; },
       {0},
       {-ENOENT}},
      // __bpf_nf_ct_alloc_entry's, in its order.
      {"alloc_icmp_bad_netns",
       [](C* c) { c->op = kOpAlloc, c->l4proto = 1, c->netns_id = -2; },
       {0},
       {-EINVAL}},
      {"alloc_icmp",
       [](C* c) { c->op = kOpAlloc, c->l4proto = 1; },
       {0},
       {-EPROTO}},
      {"alloc_tuple_sz_20",
       [](C* c) { c->op = kOpAlloc, c->tuple_sz = 20; },
       {0},
       {-EAFNOSUPPORT}},
      {"alloc_netns_f00",
       [](C* c) { c->op = kOpAlloc, c->netns_id = 0xf00; },
       {0},
       {-ENONET}},
      {"alloc_old_opts_zone",
       [](C* c) { c->op = kOpAlloc, c->opts_sz = 12, c->zone_id = 2; },
       {0},
       {-EINVAL}},
      // Allocations that insert.
      {"alloc_insert_tcp", [](C* c) { c->op = kOpAlloc; }, {1, U, U, 1}, {0}},
      {"alloc_insert_udp_old_opts",
       [](C* c) { c->op = kOpAlloc, c->l4proto = 17, c->opts_sz = 12; },
       {1, U, U, 1},
       {0}},
      {"alloc_insert_v6",
       [](C* c) { c->op = kOpAlloc, c->tuple_sz = 36; },
       {1, U, U, 1},
       {0}},
      // The whole life of an entry.
      {"full_status_mark",
       [](C* c) {
         c->op = kOpFull, c->status = 6, c->mark = 77, c->timeout = 2000;
         c->timeout2 = 3000, c->status2 = 6 | 8 | 0x400;
       },
       {1, 0, U, 1, 1, 1, 0, 0},
       {0, 0, 0}},
      {"full_status_unchangeable",
       [](C* c) {
         c->op = kOpFull, c->status = 8, c->status2 = 2;  // CONFIRMED cleared
       },
       {1, -EBUSY, U, 1, 1, 1, 0, -EBUSY},
       {0, 0, 0}},
      {"full_status_assured_cleared",
       [](C* c) { c->op = kOpFull, c->status = 4, c->status2 = 8; },
       {1, 0, U, 1, 1, 1, 0, -EBUSY},
       {0, 0, 0}},
      {"full_status_fixed_timeout",
       [](C* c) {
         // FIXED_TIMEOUT set: bpf_ct_change_timeout is -EPERM.
         c->op = kOpFull, c->status = 0x10 | 0x20 | 0x400, c->status2 = 0x4408;
       },
       {1, 0, U, 1, 1, 1, -EPERM, 0},
       {0, 0, 0}},
      {"full_snat_port",
       [](C* c) {
         // A port of the run's own: the reply tuples of two runs differ.
         c->op = kOpFull, c->nat_manip = 0;
         c->nat_port = ntohs(c->sport) + 10000;
       },
       {1, 0, 0, 1, 1, 1, 0, 0},
       {0, 0, 0}},
      {"full_dnat_no_port",
       [](C* c) { c->op = kOpFull, c->nat_manip = 1, c->nat_port = 0; },
       {1, 0, 0, 1, 1, 1, 0, 0},
       {0, 0, 0}},
      {"full_nat_bad_manip",
       [](C* c) { c->op = kOpFull, c->nat_manip = 2; },
       {1, 0, -EINVAL, 1, 1, 1, 0, 0},
       {0, 0, 0}},
      {"full_zone_found",
       [](C* c) { c->op = kOpFull, c->zone_id = 5, c->lookup_zone = 5; },
       {1, 0, U, 1, 1, 1, 0, 0},
       {0, 0, 0}},
      {"full_zone_other",
       [](C* c) { c->op = kOpFull, c->zone_id = 5, c->lookup_zone = 0; },
       {1, 0, U, 1, 0, 0, 0, 0},
       {0, -ENOENT, -ENOENT}},
      {"full_zone_orig_dir_only",
       [](C* c) {
         c->op = kOpFull, c->zone_id = 5, c->zone_dir = 1, c->lookup_zone = 5;
       },
       {1, 0, U, 1, 1, 1, 0, 0},
       {0, 0, 0}},
      {"full_zone_orig_dir_other",
       [](C* c) {
         c->op = kOpFull, c->zone_id = 5, c->zone_dir = 1, c->lookup_zone = 0;
       },
       {1, 0, U, 1, 0, 1, 0, 0},
       {0, -ENOENT, 0}},
      // Insert clashes.
      {"dup_same", [](C* c) { c->op = kOpDup; }, {1, 0}, {0, 0}},
      {"dup_reverse",
       [](C* c) { c->op = kOpDup, c->reverse = 1; },
       {1, 0},
       {0, 0}},
  };
}

// msecs_to_jiffies at CONFIG_HZ=250 (the host's and bpfemu's), capped at
// INT_MAX as __nf_ct_set_timeout caps it.
inline int64_t Jiffies(uint32_t ms) {
  if (static_cast<int32_t>(ms) < 0) return 0x7fffffff;
  return (int64_t{ms} + 3) / 4;
}

}  // namespace bpfemu::examples::ct_kfuncs

#endif  // BPFEMU_TESTS_EXAMPLES_CT_KFUNCS_CASES_H_

// SPDX-License-Identifier: Apache-2.0
// The raw SYN cookie helpers (bpfemu/native_abi.h), as net/core/filter.c
// bpf_tcp_raw_gen_syncookie_ipv4 / _ipv6 and bpf_tcp_raw_check_syncookie_ipv4
// / _ipv6 compute them over net/ipv4/syncookies.c and
// net/ipv6/syncookies.c: the cookie is the peer's sequence number plus a
// keyed hash of the connection's addresses and ports, the minute counter
// (tcp_cookie_time) in its top 8 bits and, in its low 24 bits, a second
// keyed hash plus the index of the MSS in the family's table. The kernel
// keys siphash with a secret drawn at boot; bpfemu keys its hash with a
// secret drawn per process, so cookies are only meaningful within the
// process that made them (and never equal the kernel's): the MSS, the
// errors and a generate-then-check round trip are what compare.

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <netinet/ip.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "absl/types/span.h"
#include "bpfemu/native_abi.h"

namespace {

constexpr uint32_t kCookieBits = 24;  // COOKIEBITS
constexpr uint32_t kCookieMask = (1u << kCookieBits) - 1;
constexpr uint32_t kMaxSyncookieAge = 2;  // MAX_SYNCOOKIE_AGE, minutes
constexpr uint16_t kMssV4[] = {536, 1300, 1440, 1460};
constexpr uint16_t kMssV6[] = {1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60};
constexpr uint16_t kTcpMssDefault = 536;          // TCP_MSS_DEFAULT
constexpr uint16_t kMssClampV6 = 1280 - 20 - 40;  // IPV6_MIN_MTU - hdrs
constexpr uint8_t kOptEol = 0, kOptNop = 1, kOptMss = 2, kOptMssLen = 4;

// The connection a cookie belongs to: source and destination addresses
// (one word each for IPv4, four for IPv6) and the ports.
struct Flow {
  uint32_t saddr[4] = {};
  uint32_t daddr[4] = {};
  uint32_t ports = 0;  // sport << 16 | dport, network order halves
};

// cookie_hash(): keyed by one of two per-process secrets.
uint32_t CookieHash(const Flow& f, uint32_t count, int c) {
  static const uint64_t secret[2] = {absl::BitGen()(), absl::BitGen()()};
  return static_cast<uint32_t>(
      absl::HashOf(secret[c], absl::MakeConstSpan(f.saddr),
                   absl::MakeConstSpan(f.daddr), f.ports, count));
}

// tcp_cookie_time(): jiffies in minutes (TCP_SYNCOOKIE_PERIOD, HZ 250).
uint32_t CookieTime() {
  return static_cast<uint32_t>(bpfemu_jiffies64() / (60 * 250));
}

// secure_tcp_syn_cookie().
uint32_t MakeCookie(const Flow& f, uint32_t sseq, uint32_t data) {
  const uint32_t count = CookieTime();
  return CookieHash(f, 0, 0) + sseq + (count << kCookieBits) +
         ((CookieHash(f, count, 1) + data) & kCookieMask);
}

// check_tcp_syn_cookie(): the data of a cookie made in the last two
// minutes, else (uint32_t)-1.
uint32_t CheckCookie(uint32_t cookie, const Flow& f, uint32_t sseq) {
  const uint32_t count = CookieTime();
  cookie -= CookieHash(f, 0, 0) + sseq;
  const uint32_t diff =
      (count - (cookie >> kCookieBits)) & (~0u >> kCookieBits);
  if (diff >= kMaxSyncookieAge) return ~0u;
  return (cookie - CookieHash(f, count - diff, 1)) & kCookieMask;
}

// tcp_parse_mss_option(th, 0): the MSS option's non-zero value in the
// header's options, else 0.
uint16_t ParseMss(const tcphdr* th) {
  const auto* p = reinterpret_cast<const uint8_t*>(th + 1);
  int length = th->doff * 4 - static_cast<int>(sizeof(tcphdr));
  uint16_t mss = 0;
  while (length > 0) {
    const uint8_t op = *p++;
    if (op == kOptEol) return mss;
    if (op == kOptNop) {
      --length;
      continue;
    }
    if (length < 2) return mss;
    const uint8_t size = *p++;
    if (size < 2 || size > length) return mss;
    if (op == kOptMss && size == kOptMssLen) {
      const uint16_t in = static_cast<uint16_t>(p[0] << 8 | p[1]);
      if (in != 0) mss = in;
    }
    p += size - 2;
    length -= size;
  }
  return mss;
}

Flow FlowOf(const uint32_t* saddr, const uint32_t* daddr, size_t words,
            const tcphdr* th) {
  Flow f;
  std::memcpy(f.saddr, saddr, words * 4);
  std::memcpy(f.daddr, daddr, words * 4);
  f.ports = uint32_t{th->source} << 16 | th->dest;
  return f;
}

// bpf_tcp_raw_gen_syncookie_*: the header length checked, the MSS from the
// options (or the family's default) rounded down to the table, the cookie
// in the low 32 bits and that MSS above.
__s64 Gen(const Flow& f, const tcphdr* th, __u32 th_len,
          absl::Span<const uint16_t> table, uint16_t default_mss) {
  if (th_len < sizeof(tcphdr) || th_len != th->doff * 4u) return -EINVAL;
  uint16_t mss = ParseMss(th);
  if (mss == 0) mss = default_mss;
  uint32_t ind = static_cast<uint32_t>(table.size()) - 1;
  while (ind != 0 && mss < table[ind]) --ind;
  const uint32_t cookie = MakeCookie(f, ntohl(th->seq), ind);
  return static_cast<__s64>(cookie | uint64_t{table[ind]} << 32);
}

// bpf_tcp_raw_check_syncookie_*: 0 when the ACK's ack_seq - 1 is a cookie
// for its seq - 1 whose data indexes the table, else -EACCES.
long Check(const Flow& f, const tcphdr* th, size_t table_size) {
  const uint32_t ind =
      CheckCookie(ntohl(th->ack_seq) - 1, f, ntohl(th->seq) - 1);
  return ind < table_size ? 0 : -EACCES;
}

}  // namespace

extern "C" {

__s64 bpfemu_tcp_raw_gen_syncookie_ipv4(const void* iph, const void* th,
                                        __u32 th_len) {
  const auto* ip = static_cast<const iphdr*>(iph);
  const auto* t = static_cast<const tcphdr*>(th);
  // Gen's length check, before FlowOf reads the ports (as the kernel's
  // helper checks th_len before it touches th).
  if (th_len < sizeof(tcphdr)) return -EINVAL;
  return Gen(FlowOf(&ip->saddr, &ip->daddr, 1, t), t, th_len, kMssV4,
             kTcpMssDefault);
}

__s64 bpfemu_tcp_raw_gen_syncookie_ipv6(const void* iph, const void* th,
                                        __u32 th_len) {
  const auto* ip = static_cast<const ipv6hdr*>(iph);
  const auto* t = static_cast<const tcphdr*>(th);
  if (th_len < sizeof(tcphdr)) return -EINVAL;  // as in the ipv4 generator
  return Gen(FlowOf(ip->saddr.s6_addr32, ip->daddr.s6_addr32, 4, t), t, th_len,
             kMssV6, kMssClampV6);
}

long bpfemu_tcp_raw_check_syncookie_ipv4(const void* iph, const void* th) {
  const auto* ip = static_cast<const iphdr*>(iph);
  const auto* t = static_cast<const tcphdr*>(th);
  return Check(FlowOf(&ip->saddr, &ip->daddr, 1, t), t, std::size(kMssV4));
}

long bpfemu_tcp_raw_check_syncookie_ipv6(const void* iph, const void* th) {
  const auto* ip = static_cast<const ipv6hdr*>(iph);
  const auto* t = static_cast<const tcphdr*>(th);
  return Check(FlowOf(ip->saddr.s6_addr32, ip->daddr.s6_addr32, 4, t), t,
               std::size(kMssV6));
}

}  // extern "C"

// SPDX-License-Identifier: Apache-2.0
// File: packets.h
//
// Test frames for the examples: Ethernet II frames carrying IPv4 TCP/UDP
// headers, in network byte order, padded to a chosen length.

#ifndef BPFEMU_TESTS_EXAMPLES_PACKETS_H_
#define BPFEMU_TESTS_EXAMPLES_PACKETS_H_

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace bpfemu::examples {

// An Ethernet frame of `len` bytes (at least 14) with EtherType `proto`;
// the payload's first byte is `first_payload_byte`.
inline std::vector<uint8_t> EthFrame(uint16_t proto, size_t len,
                                     uint8_t first_payload_byte = 0) {
  std::vector<uint8_t> f(len < ETH_HLEN + 1 ? ETH_HLEN + 1 : len, 0);
  ethhdr eth = {};
  std::memset(eth.h_dest, 0x02, ETH_ALEN);
  std::memset(eth.h_source, 0x04, ETH_ALEN);
  eth.h_proto = htons(proto);
  std::memcpy(f.data(), &eth, sizeof(eth));
  f[ETH_HLEN] = first_payload_byte;
  return f;
}

// An IPv4 packet of protocol `l4` (IPPROTO_TCP / IPPROTO_UDP) whose first
// four L4 bytes are the ports, `len` bytes in all.
inline std::vector<uint8_t> Ipv4Frame(uint32_t saddr, uint32_t daddr,
                                      uint16_t sport, uint16_t dport,
                                      uint8_t l4, size_t len = 128) {
  const size_t min = ETH_HLEN + sizeof(iphdr) + sizeof(udphdr);
  std::vector<uint8_t> f = EthFrame(ETH_P_IP, len < min ? min : len);
  iphdr ip = {};
  ip.ihl = 5;
  ip.version = 4;
  ip.tot_len = htons(static_cast<uint16_t>(f.size() - ETH_HLEN));
  ip.ttl = 64;
  ip.protocol = l4;
  ip.saddr = htonl(saddr);
  ip.daddr = htonl(daddr);
  std::memcpy(f.data() + ETH_HLEN, &ip, sizeof(ip));
  udphdr udp = {};
  udp.source = htons(sport);
  udp.dest = htons(dport);
  udp.len = htons(static_cast<uint16_t>(f.size() - ETH_HLEN - sizeof(ip)));
  std::memcpy(f.data() + ETH_HLEN + sizeof(ip), &udp, sizeof(udp));
  return f;
}

}  // namespace bpfemu::examples

#endif  // BPFEMU_TESTS_EXAMPLES_PACKETS_H_

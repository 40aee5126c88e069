// SPDX-License-Identifier: Apache-2.0
// .struct_ops and .struct_ops.link maps through libbpfemu (sops51):
// tests/examples/tcp_ca.bpf.c opened and loaded as a libbpf user does
// (bpf_object__open_file, bpf_object__load: loader/elf_object.cc makes the
// STRUCT_OPS map, loader/object.cc bpf_map__init_kern_struct_ops), then
// bpf_map__attach_struct_ops registers the congestion control with the
// emulated kernel: its members run through native::RunTcpCaMember, a
// second registration of the name is EEXIST, bpf_link__destroy
// unregisters. The .struct_ops.link build (tcp_ca_link.bpf.o) goes through
// BPF_LINK_CREATE, BPF_LINK_UPDATE and BPF_LINK_DETACH. The errnos are the
// ones tests/examples/tcp_ca_compare_test.cc records on the kernel for the
// same sequences (StructOpsSequences, LinkSequence).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <elf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "emu/kernel_btf.h"
#include "emu/struct_ops_map.h"
#include "emu/tcp_ca.h"
#include "gtest/gtest.h"
#include "loader/elf_object.h"
#include "native/tcp_ca.h"

namespace {

constexpr char kObj[] = "tests/examples/tcp_ca.bpf.o";
constexpr char kLinkObj[] = "tests/examples/tcp_ca_link.bpf.o";
constexpr char kName[] = "bpfemu_tcpca";
constexpr int kBpfStructOps = 44;  // BPF_STRUCT_OPS (6.4)

struct Value {
  uint32_t refcnt = 0, state = 0;
};

Value LookUp(const bpf_map* map) {
  std::vector<uint8_t> v(bpf_map__value_size(map), 0xff);
  const uint32_t zero = 0;
  Value out;
  if (bpf_map_lookup_elem(bpf_map__fd(map), &zero, v.data()) != 0) {
    out.refcnt = out.state = ~0u;
    return out;
  }
  std::memcpy(&out.refcnt, v.data(), 4);
  std::memcpy(&out.state, v.data() + 4, 4);
  return out;
}

// The errno of bpf_map__attach_struct_ops(map) failing, or 0 when it
// attached (that link then destroyed).
int AttachErrno(const bpf_map* map) {
  errno = 0;
  bpf_link* link = bpf_map__attach_struct_ops(map);
  if (link == nullptr) return errno;
  bpf_link__destroy(link);
  return 0;
}

// ssthresh of the registered congestion control on a socket with
// snd_cwnd 21 (tcp_reno_ssthresh: 10), or the errno.
int64_t Ssthresh(const bpf_map* map) {
  auto sk = bpfemu::tcpca::TcpSock::Create();
  sk->Set(bpfemu::tcpca::F::kSndCwnd, 21);
  uint64_t ret = 0;
  const int err = bpfemu::native::RunTcpCaMember(bpf_map__fd(map), "ssthresh",
                                                 *sk, {}, &ret);
  return err != 0 ? err : static_cast<int64_t>(ret);
}

// The bytes of `path`.
std::vector<uint8_t> ReadAll(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Section headers of an ELF64 image (the examples are little-endian, host
// order).
const Elf64_Shdr* Shdrs(const std::vector<uint8_t>& elf) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof(eh));
  return reinterpret_cast<const Elf64_Shdr*>(elf.data() + eh.e_shoff);
}

// Index of the section named `name`, or -1.
int SectionIndex(const std::vector<uint8_t>& elf, const char* name) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof(eh));
  const Elf64_Shdr* sh = Shdrs(elf);
  const char* strs =
      reinterpret_cast<const char*>(elf.data() + sh[eh.e_shstrndx].sh_offset);
  for (int i = 0; i < eh.e_shnum; ++i) {
    if (std::strcmp(strs + sh[i].sh_name, name) == 0) return i;
  }
  return -1;
}

// A hostile .bpf.o (libbpf's init_struct_ops_maps bounds the variable by
// its section; this loader takes 64-bit st_values): the struct_ops
// variable's symbol at 2^64-8, where offset + size wraps, or a relocation
// past the struct. Both are errors, read nothing outside the section.
TEST(StructOpsElf, HostileOffsetsAreErrors) {
  const std::vector<uint8_t> good = ReadAll(kObj);
  ASSERT_GT(good.size(), sizeof(Elf64_Ehdr));
  ASSERT_TRUE(bpfemu::native::ParseElfObject(good, "tcp_ca").ok());
  const int st = SectionIndex(good, ".struct_ops");
  const int symtab = SectionIndex(good, ".symtab");
  const int rel = SectionIndex(good, ".rel.struct_ops");
  ASSERT_GT(st, 0);
  ASSERT_GT(symtab, 0);
  ASSERT_GT(rel, 0);

  std::vector<uint8_t> bad = good;
  const Elf64_Shdr sym_sh = Shdrs(bad)[symtab];
  int patched = 0;
  for (uint64_t off = sym_sh.sh_offset;
       off + sizeof(Elf64_Sym) <= sym_sh.sh_offset + sym_sh.sh_size;
       off += sizeof(Elf64_Sym)) {
    Elf64_Sym sym;
    std::memcpy(&sym, bad.data() + off, sizeof(sym));
    if (sym.st_shndx == st && ELF64_ST_TYPE(sym.st_info) == STT_OBJECT) {
      sym.st_value = ~uint64_t{7};
      std::memcpy(bad.data() + off, &sym, sizeof(sym));
      ++patched;
    }
  }
  ASSERT_EQ(patched, 1);
  auto parsed = bpfemu::native::ParseElfObject(bad, "tcp_ca");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("beyond the end"), std::string::npos)
      << parsed.status();

  bad = good;
  const Elf64_Shdr rel_sh = Shdrs(bad)[rel];
  const uint64_t st_size = Shdrs(bad)[st].sh_size;
  for (const uint64_t where : {st_size, st_size - 4, ~uint64_t{3}}) {
    Elf64_Rel r;
    std::memcpy(&r, bad.data() + rel_sh.sh_offset, sizeof(r));
    r.r_offset = where;
    std::memcpy(bad.data() + rel_sh.sh_offset, &r, sizeof(r));
    parsed = bpfemu::native::ParseElfObject(bad, "tcp_ca");
    ASSERT_FALSE(parsed.ok()) << where;
    EXPECT_NE(parsed.status().message().find("struct_ops reloc"),
              std::string::npos)
        << parsed.status();
  }
}

class StructOpsCompat : public ::testing::Test {
 protected:
  void SetUp() override {
    const bpfemu::KernelBtf* btf = bpfemu::KernelBtf::Get();
    if (btf == nullptr ||
        btf->FindByNameKind("bpf_struct_ops_tcp_congestion_ops",
                            BTF_KIND_STRUCT) <= 0) {
      GTEST_SKIP() << "no kernel BTF with tcp_congestion_ops";
    }
    if (bpfemu::TcpCongestionRegistered(kName)) {
      GTEST_SKIP() << kName << " is a congestion control of the host";
    }
  }
  // Opens and loads `path`; its struct_ops map in *map.
  bpf_object* Load(const char* path, bpf_map** map) {
    bpf_object* obj = bpf_object__open_file(path, nullptr);
    if (obj == nullptr) {
      ADD_FAILURE() << path << ": " << std::strerror(errno);
      return nullptr;
    }
    *map = bpf_object__find_map_by_name(obj, kName);
    EXPECT_NE(*map, nullptr);
    const int err = bpf_object__load(obj);
    EXPECT_EQ(err, 0) << path;
    if (err != 0) {
      bpf_object__close(obj);
      return nullptr;
    }
    return obj;
  }
};

TEST_F(StructOpsCompat, OpenLoadAttachDestroy) {
  bpf_object* obj = bpf_object__open_file(kObj, nullptr);
  ASSERT_NE(obj, nullptr);
  bpf_map* map = bpf_object__find_map_by_name(obj, kName);
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(bpf_map__type(map), BPF_MAP_TYPE_STRUCT_OPS);
  EXPECT_EQ(bpf_map__key_size(map), 4u);
  EXPECT_EQ(bpf_map__max_entries(map), 1u);
  EXPECT_EQ(bpf_map__map_flags(map), 0u);
  // Not created yet: EINVAL, as libbpf's map->fd == -1.
  EXPECT_EQ(AttachErrno(map), EINVAL);
  ASSERT_EQ(bpf_object__load(obj), 0);
  // The programs were loaded for their members: the kernel struct and the
  // member index (ssthresh is tcp_congestion_ops' first member).
  const bpf_program* ss = bpf_object__find_program_by_name(obj, "ca_ssthresh");
  ASSERT_NE(ss, nullptr);
  EXPECT_EQ(bpf_program__type(ss), BPF_PROG_TYPE_STRUCT_OPS);
  // Created and not registered: lookups are zeros.
  EXPECT_EQ(LookUp(map).state, bpfemu::kBpfStructOpsStateInit);
  EXPECT_EQ(Ssthresh(map), -ENOENT);

  bpf_link* link = bpf_map__attach_struct_ops(map);
  ASSERT_NE(link, nullptr) << std::strerror(errno);
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(LookUp(map).state, bpfemu::kBpfStructOpsStateInuse);
  EXPECT_EQ(LookUp(map).refcnt, 1u);
  EXPECT_EQ(Ssthresh(map), 10);
  // The "link" of a map without BPF_F_LINK is the map's fd: no link to
  // detach (EINVAL, the kernel's answer for a map fd).
  EXPECT_EQ(bpf_link__fd(link), bpf_map__fd(map));
  EXPECT_EQ(bpf_link__detach(link), -EINVAL);
  // The same map again: EBUSY (the map is no longer INIT).
  EXPECT_EQ(AttachErrno(map), EBUSY);

  // A second object registering the same name: EEXIST.
  bpf_map* map2 = nullptr;
  bpf_object* obj2 = Load(kObj, &map2);
  ASSERT_NE(obj2, nullptr);
  EXPECT_EQ(AttachErrno(map2), EEXIST);
  EXPECT_EQ(LookUp(map2).state, bpfemu::kBpfStructOpsStateInit);

  // Destroying the link deletes element 0: unregistered, TOBEFREE.
  EXPECT_EQ(bpf_link__destroy(link), 0);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(LookUp(map).state, bpfemu::kBpfStructOpsStateTobefree);
  EXPECT_EQ(LookUp(map).refcnt, 0u);
  EXPECT_EQ(Ssthresh(map), -ENOENT);
  EXPECT_EQ(AttachErrno(map), EBUSY);
  // The name is free again: the second object registers it.
  bpf_link* link2 = bpf_map__attach_struct_ops(map2);
  ASSERT_NE(link2, nullptr) << std::strerror(errno);
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(Ssthresh(map2), 10);
  EXPECT_EQ(bpf_link__destroy(link2), 0);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
  bpf_object__close(obj2);
  bpf_object__close(obj);
}

// Closing the object of a registered map unregisters it (the emulated
// registration lives with the process's map).
TEST_F(StructOpsCompat, CloseUnregisters) {
  bpf_map* map = nullptr;
  bpf_object* obj = Load(kObj, &map);
  ASSERT_NE(obj, nullptr);
  bpf_link* link = bpf_map__attach_struct_ops(map);
  ASSERT_NE(link, nullptr);
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  bpf_link__disconnect(link);
  EXPECT_EQ(bpf_link__destroy(link), 0);
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  bpf_object__close(obj);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
}

// A struct_ops link lives while any fd of its file is open (bpf_link_release
// on the last fput): a dup() or F_DUPFD copy is the link, the original's
// close leaves it registered, and detach or the last close through a copy
// unregisters it.
TEST_F(StructOpsCompat, LinkCopiesKeepTheLink) {
  bpf_map* map = nullptr;
  bpf_object* obj = Load(kLinkObj, &map);
  ASSERT_NE(obj, nullptr);
  bpf_link* link = bpf_map__attach_struct_ops(map);
  ASSERT_NE(link, nullptr) << std::strerror(errno);
  const int copy = dup(bpf_link__fd(link));
  ASSERT_GE(copy, 0);
  const int copy2 = fcntl(copy, F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(copy2, 0);
  EXPECT_EQ(bpf_link__destroy(link), 0);  // closes the original fd
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  uint32_t map_id = 0;
  EXPECT_TRUE(bpfemu::IsStructOpsLinkFd(copy, &map_id));
  EXPECT_NE(map_id, 0u);
  EXPECT_TRUE(bpfemu::IsStructOpsLinkFd(copy2));
  EXPECT_EQ(Ssthresh(map), 10);
  // BPF_LINK_UPDATE through a copy (to the same map), then BPF_LINK_DETACH.
  EXPECT_EQ(bpf_link_update(copy2, bpf_map__fd(map), nullptr), 0)
      << std::strerror(errno);
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(bpf_link_detach(copy), 0);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(bpf_link_update(copy2, bpf_map__fd(map), nullptr), -ENOLINK);
  EXPECT_TRUE(bpfemu::IsStructOpsLinkFd(copy2, &map_id));
  EXPECT_EQ(map_id, 0u);
  EXPECT_EQ(close(copy), 0);
  EXPECT_EQ(close(copy2), 0);
  EXPECT_FALSE(bpfemu::IsStructOpsLinkFd(copy2));

  // No detach: the last close of a copy unregisters.
  bpf_link* again = bpf_map__attach_struct_ops(map);
  ASSERT_NE(again, nullptr) << std::strerror(errno);
  const int copy3 = dup(bpf_link__fd(again));
  ASSERT_GE(copy3, 0);
  EXPECT_EQ(bpf_link__destroy(again), 0);
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(close(copy3), 0);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(LookUp(map).refcnt, 0u);
  bpf_object__close(obj);
}

TEST_F(StructOpsCompat, LinkMapAttachUpdateDetach) {
  bpf_map* map = nullptr;
  bpf_object* obj = Load(kLinkObj, &map);
  ASSERT_NE(obj, nullptr);
  EXPECT_EQ(bpf_map__map_flags(map), bpfemu::kBpfFLink);
  EXPECT_EQ(bpf_map__type(map), BPF_MAP_TYPE_STRUCT_OPS);
  // BPF_LINK_CREATE before the value is written: the map is not READY.
  EXPECT_EQ(
      bpf_link_create(bpf_map__fd(map), 0,
                      static_cast<bpf_attach_type>(kBpfStructOps), nullptr),
      -EINVAL);

  bpf_link* link = bpf_map__attach_struct_ops(map);
  ASSERT_NE(link, nullptr) << std::strerror(errno);
  EXPECT_NE(bpf_link__fd(link), bpf_map__fd(map));
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(LookUp(map).state, bpfemu::kBpfStructOpsStateReady);
  EXPECT_EQ(LookUp(map).refcnt, 1u);  // the link's reference
  EXPECT_EQ(Ssthresh(map), 10);
  // A link map is never deleted from.
  const uint32_t zero = 0;
  EXPECT_EQ(bpf_map_delete_elem(bpf_map__fd(map), &zero), -EOPNOTSUPP);

  // A second link of the same map (the value is READY: the write's EBUSY
  // does not count), and a second object's: the name is taken.
  EXPECT_EQ(AttachErrno(map), EEXIST);
  bpf_map* map2 = nullptr;
  bpf_object* obj2 = Load(kLinkObj, &map2);
  ASSERT_NE(obj2, nullptr);
  EXPECT_EQ(AttachErrno(map2), EEXIST);
  // ... which left map2 READY and unlinked.
  EXPECT_EQ(LookUp(map2).state, bpfemu::kBpfStructOpsStateReady);
  EXPECT_EQ(LookUp(map2).refcnt, 0u);
  EXPECT_EQ(Ssthresh(map2), -ENOENT);

  // BPF_LINK_UPDATE: flags, a wrong old map, a map that is not a link map.
  const int lfd = bpf_link__fd(link);
  LIBBPF_OPTS(bpf_link_update_opts, bad_flags, .flags = 4);
  EXPECT_EQ(bpf_link_update(lfd, bpf_map__fd(map2), &bad_flags), -EINVAL);
  LIBBPF_OPTS(bpf_link_update_opts, wrong_old, .flags = BPF_F_REPLACE,
              .old_prog_fd = static_cast<__u32>(bpf_map__fd(map2)));
  EXPECT_EQ(bpf_link_update(lfd, bpf_map__fd(map2), &wrong_old), -EPERM);
  LIBBPF_OPTS(bpf_link_update_opts, old_no_replace,
              .old_prog_fd = static_cast<__u32>(bpf_map__fd(map)));
  EXPECT_EQ(bpf_link_update(lfd, bpf_map__fd(map2), &old_no_replace), -EINVAL);
  bpf_map* plain = nullptr;
  bpf_object* obj3 = Load(kObj, &plain);
  ASSERT_NE(obj3, nullptr);
  EXPECT_EQ(bpf_link_update(lfd, bpf_map__fd(plain), nullptr), -EINVAL);
  EXPECT_EQ(bpf_link_update(lfd, bpf_map__fd(map2), nullptr), 0)
      << std::strerror(errno);
  // map2 now holds the registration.
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(Ssthresh(map2), 10);
  EXPECT_EQ(Ssthresh(map), -ENOENT);
  EXPECT_EQ(LookUp(map2).refcnt, 1u);
  EXPECT_EQ(LookUp(map).refcnt, 0u);
  // And back, naming the old map.
  LIBBPF_OPTS(bpf_link_update_opts, replace, .flags = BPF_F_REPLACE,
              .old_prog_fd = static_cast<__u32>(bpf_map__fd(map2)));
  EXPECT_EQ(bpf_link_update(lfd, bpf_map__fd(map), &replace), 0);
  EXPECT_EQ(Ssthresh(map), 10);

  // BPF_LINK_DETACH: unregistered; again 0; an update now ENOLINK.
  EXPECT_EQ(bpf_link__detach(link), 0);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(LookUp(map).refcnt, 0u);
  EXPECT_EQ(LookUp(map).state, bpfemu::kBpfStructOpsStateReady);
  EXPECT_EQ(bpf_link_detach(lfd), 0);
  EXPECT_EQ(bpf_link_update(lfd, bpf_map__fd(map), nullptr), -ENOLINK);
  // The map is still READY: a new link registers it again; destroying
  // that link (closing its fd) unregisters.
  bpf_link* again = bpf_map__attach_struct_ops(map);
  ASSERT_NE(again, nullptr) << std::strerror(errno);
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(bpf_link__destroy(again), 0);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
  // libbpf 1.1 passes flags and target_btf_id through and the kernel's
  // bpf_struct_ops_link_create reads neither: a link. With target_btf_id 0,
  // libbpf refuses a non-zero field after flags (OPTS_ZEROED): EINVAL.
  LIBBPF_OPTS(bpf_link_create_opts, flagged, .flags = 1, .target_btf_id = 7);
  const int ffd =
      bpf_link_create(bpf_map__fd(map), 0,
                      static_cast<bpf_attach_type>(kBpfStructOps), &flagged);
  EXPECT_GE(ffd, 0) << ffd;
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  if (ffd >= 0) close(ffd);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
  // With stdin closed, the link still lands on an fd past 0-2.
  const int saved_stdin = fcntl(0, F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(saved_stdin, 3);
  close(0);
  const int lfd3 =
      bpf_link_create(bpf_map__fd(map), 0,
                      static_cast<bpf_attach_type>(kBpfStructOps), nullptr);
  EXPECT_GE(lfd3, 3);
  EXPECT_TRUE(bpfemu::TcpCongestionRegistered(kName));
  if (lfd3 >= 0) close(lfd3);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
  ASSERT_EQ(dup2(saved_stdin, 0), 0);
  close(saved_stdin);
  union bpf_iter_link_info info = {};
  LIBBPF_OPTS(bpf_link_create_opts, extra, .flags = 1, .iter_info = &info);
  EXPECT_EQ(
      bpf_link_create(bpf_map__fd(map), 0,
                      static_cast<bpf_attach_type>(kBpfStructOps), &extra),
      -EINVAL);
  EXPECT_FALSE(bpfemu::TcpCongestionRegistered(kName));
  EXPECT_EQ(bpf_link__destroy(link), 0);
  bpf_object__close(obj3);
  bpf_object__close(obj2);
  bpf_object__close(obj);
}

}  // namespace

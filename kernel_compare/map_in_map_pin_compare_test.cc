// SPDX-License-Identifier: Apache-2.0
// Emulator vs kernel (issue 20): a pinned map-of-maps keeps its inner maps
// after the process that created them exits. The scenario of
// //emu:map_in_map_pin_test runs on both: a child creates an outer map
// (ARRAY_OF_MAPS, HASH_OF_MAPS) with two filled inner arrays, pins it and
// exits; the parent opens the pin, turns each slot's id into an fd
// (BPF_MAP_GET_FD_BY_ID, also from another child) and reads the values;
// deleting a slot while an fd holds the inner map, then closing it, and
// deleting a slot with no fd open, make the id vanish; a slot replaced by
// another process drops the old inner and keeps the new one. The two
// transcripts (every return code and value; ids only as "nonzero", "same",
// "different") must be identical. Kernel pins live under /sys/fs/bpf and are
// removed. Needs bpf(): tagged "local", skipped with a one-line reason
// without permission.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>

#include "absl/strings/str_format.h"
#include "emu/bpffs.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

// The commands the scenario uses, as bpf() returns them (-errno on error).
struct Api {
  std::function<int(uint32_t type, uint32_t value_size, uint32_t max_entries,
                    int inner_fd)>
      create;
  std::function<int(int fd, uint32_t key, const void* value)> update;
  std::function<int(int fd, uint32_t key, void* value)> lookup;
  std::function<int(int fd, uint32_t key)> del;
  std::function<int(int fd, const char* path)> pin;
  std::function<int(const char* path)> get;
  std::function<int(uint32_t id)> by_id;
  std::function<int(int fd)> close_fd;
  std::function<int(const char* path)> unpin;
};

int Neg(int r) { return r < 0 ? -errno : r; }

Api KernelApi() {
  Api a;
  a.create = [](uint32_t type, uint32_t value_size, uint32_t max_entries,
                int inner_fd) {
    LIBBPF_OPTS(bpf_map_create_opts, opts);
    opts.inner_map_fd = static_cast<uint32_t>(inner_fd);
    return Neg(bpf_map_create(static_cast<bpf_map_type>(type), nullptr, 4,
                              value_size, max_entries,
                              inner_fd > 0 ? &opts : nullptr));
  };
  a.update = [](int fd, uint32_t key, const void* value) {
    return Neg(bpf_map_update_elem(fd, &key, value, BPF_ANY));
  };
  a.lookup = [](int fd, uint32_t key, void* value) {
    return Neg(bpf_map_lookup_elem(fd, &key, value));
  };
  a.del = [](int fd, uint32_t key) {
    return Neg(bpf_map_delete_elem(fd, &key));
  };
  a.pin = [](int fd, const char* path) { return Neg(bpf_obj_pin(fd, path)); };
  a.get = [](const char* path) { return Neg(bpf_obj_get(path)); };
  a.by_id = [](uint32_t id) { return Neg(bpf_map_get_fd_by_id(id)); };
  a.close_fd = [](int fd) { return Neg(close(fd)); };
  a.unpin = [](const char* path) { return Neg(unlink(path)); };
  return a;
}

Api EmuApi() {
  Api a;
  a.create = [](uint32_t type, uint32_t value_size, uint32_t max_entries,
                int inner_fd) {
    MapAttr attr{.map_type = type,
                 .key_size = 4,
                 .value_size = value_size,
                 .max_entries = max_entries};
    attr.inner_map_fd = static_cast<uint32_t>(inner_fd);
    return MapCreate(attr);
  };
  a.update = [](int fd, uint32_t key, const void* value) {
    return MapUpdateElem(fd, &key, value, BPF_ANY);
  };
  a.lookup = [](int fd, uint32_t key, void* value) {
    return MapLookupElem(fd, &key, value);
  };
  a.del = [](int fd, uint32_t key) { return MapDeleteElem(fd, &key); };
  a.pin = [](int fd, const char* path) { return ObjPin(fd, path); };
  a.get = [](const char* path) { return ObjGet(path); };
  a.by_id = [](uint32_t id) { return MapGetFdById(id); };
  a.close_fd = [](int fd) { return CloseFd(fd); };
  a.unpin = [](const char* path) { return BpffsUnlink(path); };
  return a;
}

// Runs `body` in a child; its exit status, or 100 + the signal.
int InChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(30);
    _exit(body());
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

// An inner ARRAY of 4 u64 values base + i; the fd or -errno.
int FilledInner(const Api& api, uint64_t base) {
  const int fd = api.create(BPF_MAP_TYPE_ARRAY, 8, 4, 0);
  for (uint32_t i = 0; fd >= 0 && i < 4; ++i) {
    const uint64_t v = base + i;
    if (int err = api.update(fd, i, &v); err != 0) return err;
  }
  return fd;
}

// "values" of the inner map `fd` as the transcript shows them.
std::string Values(const Api& api, int fd) {
  std::string out;
  for (uint32_t i = 0; i < 4; ++i) {
    uint64_t v = 0;
    const int err = api.lookup(fd, i, &v);
    out += err == 0 ? absl::StrFormat(" %u", v) : absl::StrFormat(" e%d", err);
  }
  return out;
}

std::string Scenario(const Api& api, uint32_t type, const std::string& pin) {
  std::string log;
  const char* path = pin.c_str();
  api.unpin(path);
  // The creator: outer + two inner maps, pinned, then exits.
  log += absl::StrFormat("creator exit %d\n", InChild([&] {
                           const int tmpl =
                               api.create(BPF_MAP_TYPE_ARRAY, 8, 4, 0);
                           const int outer = api.create(type, 4, 8, tmpl);
                           if (outer < 0) return 1;
                           for (uint32_t s = 0; s < 2; ++s) {
                             const int inner = FilledInner(api, 100 * (s + 1));
                             if (inner < 0) return 2;
                             const uint32_t v = inner;
                             if (api.update(outer, s, &v) != 0) return 3;
                           }
                           return api.pin(outer, path) == 0 ? 0 : 4;
                         }));
  const int outer = api.get(path);
  log += absl::StrFormat("get pin %s\n", outer >= 0 ? "fd" : "error");
  if (outer < 0) return log;
  uint32_t id0 = 0, id1 = 0;
  log += absl::StrFormat("lookup 0: %d, 1: %d\n", api.lookup(outer, 0, &id0),
                         api.lookup(outer, 1, &id1));
  log += absl::StrFormat("ids nonzero %d %d, distinct %d\n", id0 != 0, id1 != 0,
                         id0 != id1);
  const int in0 = api.by_id(id0);
  log += absl::StrFormat("by id 0: %s", in0 >= 0 ? "fd" : "error");
  if (in0 >= 0) log += Values(api, in0);
  log += "\n";
  log += absl::StrFormat("other process by id 1: %d\n", InChild([&] {
                           const int fd = api.by_id(id1);
                           if (fd < 0) return 1;
                           return Values(api, fd) == " 200 201 202 203" ? 0 : 2;
                         }));
  // Delete slot 0 while an fd holds the inner map.
  log += absl::StrFormat("delete 0: %d\n", api.del(outer, 0));
  if (in0 >= 0) {
    log += "held fd:" + Values(api, in0) + "\n";
    log += absl::StrFormat("close %d\n", api.close_fd(in0));
  }
  log += absl::StrFormat("by id 0 after: %d\n", api.by_id(id0));
  // Delete slot 1 with no fd open.
  log += absl::StrFormat("delete 1: %d\n", api.del(outer, 1));
  log += absl::StrFormat("by id 1 after: %d\n", api.by_id(id1));
  log += absl::StrFormat("delete 1 again: %d\n", api.del(outer, 1));

  // Slot 2 set, then replaced by another process.
  {
    const int inner = FilledInner(api, 300);
    const uint32_t v = inner;
    log += absl::StrFormat("update 2: %d\n", api.update(outer, 2, &v));
    api.close_fd(inner);
  }
  uint32_t old2 = 0, new2 = 0;
  log += absl::StrFormat("lookup 2: %d\n", api.lookup(outer, 2, &old2));
  log += absl::StrFormat("replacer exit %d\n", InChild([&] {
                           const int o = api.get(path);
                           const int inner = FilledInner(api, 900);
                           if (o < 0 || inner < 0) return 1;
                           const uint32_t v = inner;
                           return api.update(o, 2, &v) == 0 ? 0 : 2;
                         }));
  log += absl::StrFormat("lookup 2: %d\n", api.lookup(outer, 2, &new2));
  log += absl::StrFormat("replaced id differs %d\n", old2 != new2);
  log += absl::StrFormat("old by id: %d\n", api.by_id(old2));
  const int in2 = api.by_id(new2);
  log += absl::StrFormat("new by id: %s", in2 >= 0 ? "fd" : "error");
  if (in2 >= 0) {
    log += Values(api, in2);
    api.close_fd(in2);
  }
  log += "\n";
  log += absl::StrFormat("delete 2: %d\n", api.del(outer, 2));
  log += absl::StrFormat("new by id after: %d\n", api.by_id(new2));
  log += absl::StrFormat("unpin %d\n", api.unpin(path));
  log += absl::StrFormat("close outer %d\n", api.close_fd(outer));
  return log;
}

class MapInMapPinCompare
    : public KernelTest<::testing::TestWithParam<uint32_t>> {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped()) return;
    const char* tmp = std::getenv("TEST_TMPDIR");
    SetBpffsForTesting(
        "/sys/fs/bpf",
        std::string(tmp != nullptr ? tmp : "/tmp") + "/mim_compare_store");
  }
};

TEST_P(MapInMapPinCompare, InnerMapsOutliveTheirCreator) {
  const uint32_t type = GetParam();
  const std::string pin =
      absl::StrFormat("/sys/fs/bpf/bpfemu_mim_compare_%d", getpid());
  const std::string kernel = Scenario(KernelApi(), type, pin);
  const std::string emu = Scenario(EmuApi(), type, pin);
  EXPECT_EQ(emu, kernel) << "kernel transcript:\n" << kernel;
  // The kernel's pin is gone whatever happened.
  unlink(pin.c_str());
  std::printf("kernel transcript:\n%s", kernel.c_str());
}

INSTANTIATE_TEST_SUITE_P(Types, MapInMapPinCompare,
                         ::testing::Values(BPF_MAP_TYPE_ARRAY_OF_MAPS,
                                           BPF_MAP_TYPE_HASH_OF_MAPS),
                         [](const auto& info) {
                           return std::string(info.param ==
                                                      BPF_MAP_TYPE_ARRAY_OF_MAPS
                                                  ? "ArrayOfMaps"
                                                  : "HashOfMaps");
                         });

}  // namespace
}  // namespace bpfemu

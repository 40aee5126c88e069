// SPDX-License-Identifier: Apache-2.0
// File: fixture.h
//
// ConformanceTest<B>: the typed-test fixture every conformance suite derives
// from. B is a Backend class with a static Get(). The fixture skips the whole
// suite with the backend's one-line reason when it cannot run (no bpf()
// permission), closes every map a case created, and offers small typed
// helpers so cases read like the kernel selftests they mirror.

#ifndef BPFEMU_TESTS_CONFORMANCE_FIXTURE_H_
#define BPFEMU_TESTS_CONFORMANCE_FIXTURE_H_

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "emu/errno.h"
#include "emu/map.h"
#include "gtest/gtest.h"
#include "testing/backend.h"

namespace bpfemu {

inline MapAttr Attr(uint32_t type, uint32_t key_size, uint32_t value_size,
                    uint32_t max_entries, uint32_t flags = 0) {
  MapAttr a;
  a.map_type = type;
  a.key_size = key_size;
  a.value_size = value_size;
  a.max_entries = max_entries;
  a.map_flags = flags;
  return a;
}

template <class B>
class ConformanceTest : public ::testing::Test {
 protected:
  Backend& b() { return B::Get(); }

  void SetUp() override {
    if (std::string why = b().Unavailable(); !why.empty()) GTEST_SKIP() << why;
  }
  void TearDown() override {
    for (int fd : fds_) b().Close(fd);
  }

  // BPF_MAP_CREATE; the fd (closed after the case) or -errno.
  int Create(const MapAttr& attr) {
    int fd = b().CreateMap(attr);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // A map that must be created; on failure the case fails and -1 is returned.
  int MustCreate(const MapAttr& attr) {
    int fd = Create(attr);
    if (fd < 0) ADD_FAILURE() << "create failed: " << ErrnoName(fd);
    return fd;
  }
  // Tracks an fd obtained otherwise (e.g. BPF_MAP_GET_FD_BY_ID) so that it
  // is closed after the case; returns it (or the -errno passed in).
  int Track(int fd) {
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // Closes a tracked fd now (e.g. to test EBADF on it).
  void CloseNow(int fd) {
    for (auto it = fds_.begin(); it != fds_.end(); ++it) {
      if (*it == fd) {
        fds_.erase(it);
        break;
      }
    }
    b().Close(fd);
  }

  // For maps with 8-byte values (u64); other sizes call b().Update directly.
  template <class K>
  int Update(int fd, K key, uint64_t value, uint64_t flags = BPF_ANY) {
    return b().Update(fd, &key, &value, flags);
  }
  template <class K, class V>
  int Lookup(int fd, K key, V* value, uint64_t flags = 0) {
    return b().Lookup(fd, &key, value, flags);
  }
  template <class K>
  int Delete(int fd, K key) {
    return b().Delete(fd, &key);
  }

  // Keys in get_next_key order, starting from NULL.
  template <class K>
  std::vector<K> Keys(int fd, size_t limit = 1 << 20) {
    std::vector<K> keys;
    K cur, next;
    const void* prev = nullptr;
    while (keys.size() < limit && b().GetNextKey(fd, prev, &next) == 0) {
      keys.push_back(next);
      cur = next;
      prev = &cur;
    }
    return keys;
  }
  // The map's contents as a model (test_lru_map.c map_equal, leveldb ModelDB).
  template <class K, class V>
  std::map<K, V> Contents(int fd) {
    std::map<K, V> out;
    for (const K& k : Keys<K>(fd)) {
      V v{};
      EXPECT_EQ(b().Lookup(fd, &k, &v, 0), 0);
      out[k] = v;
    }
    return out;
  }

 private:
  std::vector<int> fds_;
};

}  // namespace bpfemu

#endif  // BPFEMU_TESTS_CONFORMANCE_FIXTURE_H_

// SPDX-License-Identifier: Apache-2.0
// Emulator vs kernel for BPF_MAP_TYPE_USER_RINGBUF: userspace produces
// samples, progs/user_ringbuf_drain.bpf.c drains them with
// bpf_user_ringbuf_drain() under BPF_PROG_TEST_RUN - in the kernel, and in
// the emulator's interpreter running the very same object. On the kernel
// the producer is libbpf's user_ring_buffer; on the emulator it makes the
// same writes (the compat layer defines libbpf's names and cannot be linked
// next to it). A scripted random sequence of productions (sizes 0..300,
// discarded samples, samples left busy for a while) and drains (every flag,
// bad flags, a callback that stops after k samples) must give identical
// drain results, callback transcripts (sample sizes, checksums,
// bpf_dynptr_data success) and ring positions; so must crafted producer
// state and a drain of more than BPF_MAX_USER_RINGBUF_SAMPLES samples.
// Needs bpf(): tagged "local", skipped with a one-line reason without
// permission.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "emu/syscall.h"
#include "emu/user_ringbuf.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu {
namespace {

constexpr char kObject[] = "kernel_compare/user_ringbuf_drain.bpf.o";

struct Seen {
  uint32_t size, data_ok;
  uint64_t sum;
  bool operator==(const Seen& o) const {
    return size == o.size && data_ok == o.data_ok && sum == o.sum;
  }
};

// One side: the object's maps and program, and a producer on each ring.
class Side {
 public:
  virtual ~Side() = default;
  virtual void* Reserve(const std::string& ring, uint32_t size, int* err) = 0;
  virtual void Commit(const std::string& ring, void* sample, bool discard) = 0;
  virtual void SetU64(const std::string& map, uint32_t key, uint64_t v) = 0;
  virtual void Get(const std::string& map, uint32_t key, void* value) = 0;
  virtual void Run() = 0;
  // The ring's consumer and producer positions and data, through a
  // mapping made here (for reading them and crafting bogus state).
  virtual uint64_t* ProdPos(const std::string& ring) = 0;
  virtual const uint64_t* ConsPos(const std::string& ring) = 0;
  virtual uint8_t* Data(const std::string& ring) = 0;
};

// The mappings a producer makes: the consumer page read-only, the
// producer page and the data twice read-write.
struct Mapped {
  uint64_t size = 0;
  void* cons = nullptr;
  void* prod = nullptr;
};

class KernelSide : public Side {
 public:
  explicit KernelSide(KernelObject* obj) : obj_(obj) {
    for (const char* name : {"ring", "big"}) {
      const int fd = obj_->MapFd(name);
      rbs_[name] = user_ring_buffer__new(fd, nullptr);
      EXPECT_NE(rbs_[name], nullptr) << name << ": " << errno;
      bpf_map_info info{};
      uint32_t len = sizeof(info);
      EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
      Mapped& m = maps_[name];
      m.size = info.max_entries;
      m.cons = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
      m.prod = mmap(nullptr, 4096 + 2 * m.size, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd, 4096);
      EXPECT_NE(m.cons, MAP_FAILED);
      EXPECT_NE(m.prod, MAP_FAILED);
    }
  }
  ~KernelSide() override {
    for (auto& [name, rb] : rbs_) user_ring_buffer__free(rb);
    for (auto& [name, m] : maps_) {
      munmap(m.cons, 4096);
      munmap(m.prod, 4096 + 2 * m.size);
    }
  }
  void* Reserve(const std::string& ring, uint32_t size, int* err) override {
    errno = 0;
    void* s = user_ring_buffer__reserve(rbs_[ring], size);
    *err = s == nullptr ? errno : 0;
    return s;
  }
  void Commit(const std::string& ring, void* sample, bool discard) override {
    discard ? user_ring_buffer__discard(rbs_[ring], sample)
            : user_ring_buffer__submit(rbs_[ring], sample);
  }
  void SetU64(const std::string& map, uint32_t key, uint64_t v) override {
    ASSERT_EQ(bpf_map_update_elem(obj_->MapFd(map), &key, &v, BPF_ANY), 0);
  }
  void Get(const std::string& map, uint32_t key, void* value) override {
    ASSERT_EQ(bpf_map_lookup_elem(obj_->MapFd(map), &key, value), 0);
  }
  void Run() override {
    KernelObject::Result r = KernelObject::RunPacket(obj_->ProgFd("drain"),
                                                     std::vector<uint8_t>(64));
    ASSERT_EQ(r.err, 0);
    ASSERT_EQ(r.retval, uint32_t{XDP_PASS});
  }
  uint64_t* ProdPos(const std::string& ring) override {
    return static_cast<uint64_t*>(maps_[ring].prod);
  }
  const uint64_t* ConsPos(const std::string& ring) override {
    return static_cast<const uint64_t*>(maps_[ring].cons);
  }
  uint8_t* Data(const std::string& ring) override {
    return static_cast<uint8_t*>(maps_[ring].prod) + 4096;
  }

 private:
  KernelObject* obj_;
  std::map<std::string, user_ring_buffer*> rbs_;
  std::map<std::string, Mapped> maps_;
};

class EmuSide : public Side {
 public:
  explicit EmuSide(native::Object* obj) : obj_(obj) {
    for (const char* name : {"ring", "big"}) {
      auto map = std::dynamic_pointer_cast<UserRingbufMap>(
          MapFromFd(obj_->MapFd(name)));
      EXPECT_NE(map, nullptr) << name;
      int err;
      Mapped& m = maps_[name];
      m.size = map->max_entries();
      m.cons = MapMmap(obj_->MapFd(name), 4096, PROT_READ, MAP_SHARED, 0, &err);
      m.prod = MapMmap(obj_->MapFd(name), 4096 + 2 * m.size,
                       PROT_READ | PROT_WRITE, MAP_SHARED, 4096, &err);
      EXPECT_NE(m.cons, nullptr);
      EXPECT_NE(m.prod, nullptr);
    }
  }
  ~EmuSide() override {
    for (auto& [name, m] : maps_) {
      munmap(m.cons, 4096);
      munmap(m.prod, 4096 + 2 * m.size);
    }
  }
  // libbpf's user_ring_buffer__reserve, over this side's mappings.
  void* Reserve(const std::string& ring, uint32_t size, int* err) override {
    const Mapped& m = maps_[ring];
    if (size & (BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) {
      *err = E2BIG;
      return nullptr;
    }
    const uint64_t c = __atomic_load_n(ConsPos(ring), __ATOMIC_ACQUIRE);
    const uint64_t p = __atomic_load_n(ProdPos(ring), __ATOMIC_ACQUIRE);
    const uint32_t avail = static_cast<uint32_t>(m.size - (p - c));
    const uint32_t total = (size + BPF_RINGBUF_HDR_SZ + 7) / 8 * 8;
    if (total > m.size || avail < total) {
      *err = total > m.size ? E2BIG : ENOSPC;
      return nullptr;
    }
    const uint32_t hdr[2] = {size | BPF_RINGBUF_BUSY_BIT, 0};
    std::memcpy(Data(ring) + (p & (m.size - 1)), hdr, 8);
    __atomic_store_n(ProdPos(ring), p + total, __ATOMIC_RELEASE);
    *err = 0;
    return Data(ring) + ((p + BPF_RINGBUF_HDR_SZ) & (m.size - 1));
  }
  void Commit(const std::string& ring, void* sample, bool discard) override {
    const uint64_t size = maps_[ring].size;
    const uint64_t off = size + (static_cast<uint8_t*>(sample) - Data(ring)) -
                         BPF_RINGBUF_HDR_SZ;
    auto* len = reinterpret_cast<uint32_t*>(Data(ring) + (off & (size - 1)));
    uint32_t v = *len & ~uint32_t{BPF_RINGBUF_BUSY_BIT};
    if (discard) v |= BPF_RINGBUF_DISCARD_BIT;
    __atomic_exchange_n(len, v, __ATOMIC_ACQ_REL);
  }
  void SetU64(const std::string& map, uint32_t key, uint64_t v) override {
    ASSERT_EQ(MapUpdateElem(obj_->MapFd(map), &key, &v, BPF_ANY), 0);
  }
  void Get(const std::string& map, uint32_t key, void* value) override {
    ASSERT_EQ(MapLookupElem(obj_->MapFd(map), &key, value), 0);
  }
  void Run() override {
    const std::vector<uint8_t> pkt(64);
    native::PacketResult r = obj_->FindProgram("drain")->RunXdp(pkt);
    ASSERT_EQ(r.err, 0);
    ASSERT_EQ(r.retval, uint32_t{XDP_PASS});
  }
  uint64_t* ProdPos(const std::string& ring) override {
    return static_cast<uint64_t*>(maps_[ring].prod);
  }
  const uint64_t* ConsPos(const std::string& ring) override {
    return static_cast<const uint64_t*>(maps_[ring].cons);
  }
  uint8_t* Data(const std::string& ring) override {
    return static_cast<uint8_t*>(maps_[ring].prod) + 4096;
  }

 private:
  native::Object* obj_;
  std::map<std::string, Mapped> maps_;
};

class UserRingbufCompare : public KernelTest<> {
 protected:
  void SetUp() override {
    KernelTest<>::SetUp();
    if (IsSkipped()) return;  // no bpf() here: the reason is printed
    ASSERT_EQ(KernelObject::Load(kObject, &kobj_), 0);
    auto obj = native::Object::OpenBytecode(kObject);
    ASSERT_TRUE(obj.ok()) << obj.status();
    eobj_ = std::move(*obj);
    ASSERT_EQ(eobj_->Load(), 0);
    k_ = std::make_unique<KernelSide>(kobj_.get());
    e_ = std::make_unique<EmuSide>(eobj_.get());
  }
  void TearDown() override {
    k_.reset();
    e_.reset();
    eobj_.reset();
    kobj_.reset();
  }
  Side* sides(int i) {
    return i == 0 ? static_cast<Side*>(k_.get()) : e_.get();
  }

  // Runs the drain on both sides; the result, the new transcript entries
  // and the ring positions must agree. Returns the drain's result.
  int64_t DrainBoth(uint64_t flags, uint64_t stop_after, bool big = false) {
    int64_t ret[2], seen[2];
    std::vector<Seen> got[2];
    for (int i = 0; i < 2; ++i) {
      Side* s = sides(i);
      s->SetU64("config", 0, flags);
      s->SetU64("config", 1, stop_after);
      s->SetU64("config", 2, big ? 1 : 0);
      int64_t before;
      s->Get("result", 1, &before);
      s->Run();
      s->Get("result", 0, &ret[i]);
      s->Get("result", 1, &seen[i]);
      for (int64_t j = before; j < seen[i] && j - before < 256; ++j) {
        Seen one;
        s->Get("transcript", static_cast<uint32_t>((j - before) % 256), &one);
        if (!big) got[i].push_back(one);
      }
    }
    EXPECT_EQ(ret[0], ret[1]) << "flags " << flags << " stop " << stop_after;
    EXPECT_EQ(seen[0], seen[1]);
    EXPECT_TRUE(got[0] == got[1]);
    const char* ring = big ? "big" : "ring";
    EXPECT_EQ(*k_->ConsPos(ring), *e_->ConsPos(ring));
    EXPECT_EQ(*k_->ProdPos(ring), *e_->ProdPos(ring));
    ++drains_;
    return ret[0];
  }

  std::unique_ptr<KernelObject> kobj_;
  std::unique_ptr<native::Object> eobj_;
  std::unique_ptr<KernelSide> k_;
  std::unique_ptr<EmuSide> e_;
  int drains_ = 0;
};

TEST_F(UserRingbufCompare, ScriptedProduceAndDrainAgree) {
  absl::BitGen gen(std::seed_seq{23});
  struct Held {
    void* sample[2];
  };
  std::vector<Held> busy;  // reserved, not yet committed
  int64_t total = 0;
  std::vector<int64_t> results;
  for (int round = 0; round < 300; ++round) {
    // Commit what was left busy last round, now and then.
    if (!busy.empty() && absl::Bernoulli(gen, 0.5)) {
      for (Held& h : busy) {
        for (int i = 0; i < 2; ++i)
          sides(i)->Commit("ring", h.sample[i], false);
      }
      busy.clear();
    }
    const int n = absl::Uniform<int>(gen, 0, 21);
    for (int j = 0; j < n; ++j) {
      const uint32_t size = absl::Bernoulli(gen, 0.1)
                                ? absl::Uniform<uint32_t>(gen, 0, 9)
                                : absl::Uniform<uint32_t>(gen, 0, 301);
      const double what = absl::Uniform<double>(gen, 0, 1);
      Held h;
      int err[2];
      for (int i = 0; i < 2; ++i) {
        h.sample[i] = sides(i)->Reserve("ring", size, &err[i]);
      }
      ASSERT_EQ(err[0], err[1]) << "reserve " << size;
      if (h.sample[0] == nullptr || h.sample[1] == nullptr) {
        ASSERT_EQ(h.sample[0] == nullptr, h.sample[1] == nullptr);
        continue;
      }
      std::vector<uint8_t> payload(size);
      for (uint32_t b = 0; b < size; ++b) {
        payload[b] = static_cast<uint8_t>(round * 131 + j * 17 + b * 7);
      }
      for (int i = 0; i < 2 && size > 0; ++i) {
        std::memcpy(h.sample[i], payload.data(), size);
      }
      if (what < 0.05 && busy.size() < 3) {
        busy.push_back(h);
      } else {
        for (int i = 0; i < 2; ++i) {
          sides(i)->Commit("ring", h.sample[i], what < 0.15);
        }
      }
    }
    const uint64_t flags_choices[] = {0, BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP,
                                      BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP,
                                      4};
    const uint64_t flags = absl::Bernoulli(gen, 0.05)
                               ? 4
                               : flags_choices[absl::Uniform<int>(gen, 0, 4)];
    const uint64_t stop =
        absl::Bernoulli(gen, 0.3) ? absl::Uniform<uint64_t>(gen, 1, 6) : 0;
    const int64_t r = DrainBoth(flags, stop);
    if (r > 0) total += r;
    results.push_back(r);
  }
  for (int i = 0; i < 3; ++i) DrainBoth(0, 0);  // whatever is left
  EXPECT_GT(total, 1000);  // a strong check: many samples were compared
  int einval = 0;
  for (int64_t r : results) einval += r == -EINVAL;
  EXPECT_GT(einval, 0);
  RecordProperty("drains", drains_);
  RecordProperty("samples", static_cast<int>(total));
}

// Bogus producer state, written through the producer mapping on both
// sides: the same errno from the drain, never a crash.
TEST_F(UserRingbufCompare, CraftedProducerStateAgrees) {
  int err[2];
  void* s[2];
  for (int i = 0; i < 2; ++i) {
    s[i] = sides(i)->Reserve("ring", 24, &err[i]);
    ASSERT_NE(s[i], nullptr);
    std::memset(s[i], 0x5a, 24);
    sides(i)->Commit("ring", s[i], false);
  }
  EXPECT_EQ(DrainBoth(0, 0), 1);
  const uint64_t c = *k_->ConsPos("ring");
  auto craft = [&](uint64_t prod, int64_t len_word) {
    for (int i = 0; i < 2; ++i) {
      Side* side = sides(i);
      if (len_word >= 0) {
        const auto w = static_cast<uint32_t>(len_word);
        std::memcpy(side->Data("ring") + (c & 16383), &w, 4);
      }
      __atomic_store_n(side->ProdPos("ring"), prod, __ATOMIC_RELEASE);
    }
  };
  craft(c + 12, -1);  // misaligned
  EXPECT_EQ(DrainBoth(0, 0), -EINVAL);
  craft(c + 4, -1);
  EXPECT_EQ(DrainBoth(0, 0), -EINVAL);
  craft(c + 16, 100);  // longer than the producer position covers
  EXPECT_EQ(DrainBoth(0, 0), -EINVAL);
  craft(c + (1 << 20), 16384);  // longer than the ring
  EXPECT_EQ(DrainBoth(0, 0), -E2BIG);
  craft(c + (uint64_t{1} << 31), (1u << 30) - 1);  // largest length word
  EXPECT_EQ(DrainBoth(BPF_RB_FORCE_WAKEUP, 0), -E2BIG);
  craft(c + (1 << 20), 16384 - 8);  // exactly the ring: accepted
  EXPECT_EQ(DrainBoth(0, 1), 1);
  craft(c - 8, -1);  // producer behind the consumer: nothing to drain
  EXPECT_EQ(DrainBoth(0, 0), 0);
  // A discarded record at the head is skipped even when the next is bogus.
  const uint64_t c2 = *k_->ConsPos("ring");
  for (int i = 0; i < 2; ++i) {
    const uint32_t w = 8 | BPF_RINGBUF_DISCARD_BIT, bad = 1000;
    std::memcpy(sides(i)->Data("ring") + (c2 & 16383), &w, 4);
    std::memcpy(sides(i)->Data("ring") + ((c2 + 16) & 16383), &bad, 4);
    __atomic_store_n(sides(i)->ProdPos("ring"), c2 + 24, __ATOMIC_RELEASE);
  }
  EXPECT_EQ(DrainBoth(0, 0), -EINVAL);
  EXPECT_EQ(*k_->ConsPos("ring"), c2 + 16);
}

// BPF_MAX_USER_RINGBUF_SAMPLES on the running kernel: one drain looks at
// 128Ki samples, discarded ones counted; the rest wait for the next drain.
TEST_F(UserRingbufCompare, SampleLimitAgrees) {
  const uint64_t n = kMaxUserRingbufSamples + 7;
  for (int i = 0; i < 2; ++i) {
    for (uint64_t j = 0; j < n; ++j) {
      int err;
      void* s = sides(i)->Reserve("big", 0, &err);
      ASSERT_NE(s, nullptr) << j;
      sides(i)->Commit("big", s, j % 3 == 0);
    }
  }
  const int64_t first = DrainBoth(0, 0, /*big=*/true);
  EXPECT_EQ(first, static_cast<int64_t>(kMaxUserRingbufSamples -
                                        (kMaxUserRingbufSamples + 2) / 3));
  EXPECT_EQ(*k_->ConsPos("big"), kMaxUserRingbufSamples * 8);
  DrainBoth(0, 0, /*big=*/true);
  EXPECT_EQ(*k_->ConsPos("big"), n * 8);
}

}  // namespace
}  // namespace bpfemu

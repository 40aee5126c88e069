// SPDX-License-Identifier: Apache-2.0
// File: devmap.h
//
// Device maps, mirroring kernel/bpf/devmap.c (Linux 6.12 and 6.18):
// BPF_MAP_TYPE_DEVMAP (dev_map_ops: an array of device entries indexed by
// key) and BPF_MAP_TYPE_DEVMAP_HASH (dev_map_hash_ops: entries keyed by a
// u32, usually the ifindex itself, in roundup_pow_of_two(max_entries)
// buckets). Both hold struct bpf_devmap_val {u32 ifindex; union {int fd;
// u32 id;} bpf_prog;}: the device an XDP program redirects to
// (bpf_redirect_map) and an optional BPF_XDP_DEVMAP program to run on the
// way out. Devices come from the emulated device table (netdev.h).
//
// Semantics (measured on 6.18 by the conformance suite):
//   * create (dev_map_alloc_check): max_entries 0, key_size != 4,
//     value_size other than 4 (ifindex) and 8 (ifindex + program fd), or
//     flags other than NUMA_NODE / RDONLY / WRONLY -> EINVAL; DEVMAP_HASH
//     with max_entries above 2^31 -> EINVAL. dev_map_init_map adds
//     BPF_F_RDONLY_PROG to the map's flags (map_info shows 0x80).
//   * DEVMAP update (__dev_map_update_elem): flags above BPF_EXIST ->
//     EINVAL, index >= max_entries -> E2BIG, BPF_NOEXIST -> EEXIST (always:
//     an array slot always "exists"); ifindex 0 clears the slot (with a
//     program fd > 0: EINVAL); an ifindex naming no device, a program fd
//     that is not an XDP program or not BPF_XDP_DEVMAP -> EINVAL. A fd <= 0
//     means no program.
//   * DEVMAP_HASH update (__dev_map_hash_update_elem): flags above
//     BPF_EXIST or ifindex 0 -> EINVAL; BPF_NOEXIST on a present key ->
//     EEXIST (BPF_EXIST on a missing key is not checked: it inserts); the
//     device and program checks as above; a new key in a full map -> E2BIG.
//     A new or replaced entry goes to the head of its bucket.
//   * lookup: the value as stored, with the program's id in place of its
//     fd (0 without a program); ENOENT if empty.
//   * delete: DEVMAP index >= max_entries -> EINVAL, an empty slot -> 0;
//     DEVMAP_HASH missing key -> ENOENT.
//   * get_next_key: DEVMAP by index (dev_map_get_next_key); DEVMAP_HASH
//     within the key's bucket, then the following buckets; a missing key
//     restarts from bucket 0 (dev_map_hash_get_next_key).
//   * memlock (dev_map_mem_usage): sizeof(struct bpf_dtab), one pointer per
//     slot (DEVMAP) or one hlist_head per bucket (DEVMAP_HASH), and
//     sizeof(struct bpf_dtab_netdev) per entry.
//   * removing an emulated device (NetdevRemove) drops the entries that
//     point at it from every device map this process has open
//     (dev_map_notification, NETDEV_UNREGISTER).
//   * lookup_and_delete and the batch commands -> ENOTSUPP.
//
// Layout (after MapHeader), DEVMAP:
//   DevmapShared   items, the writers' lock
//   slots          max_entries u64: ifindex | prog id << 32 (0: empty)
// DEVMAP_HASH:
//   DevmapShared   items, the writers' lock, the node free list
//   buckets        n_buckets u32: node index + 1 of the bucket's head
//   nodes          max_entries DevNode {next, key, ifindex, prog id}
// Writers serialize on the lock; readers take none and walk at most
// max_entries nodes, with every index checked, so a crafted or half-written
// region answers wrongly but never reads outside the map. A writer that
// finds the previous holder died rebuilds the free list and the count from
// the buckets (DevmapHash::Repair).
//
// Differences from the kernel: the device table is per process; the entry
// of a device removed in another process stays until deleted.

#ifndef BPFEMU_EMU_DEVMAP_H_
#define BPFEMU_EMU_DEVMAP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "emu/map.h"
#include "emu/shm.h"

namespace bpfemu {

// include/uapi/linux/bpf.h struct bpf_devmap_val / bpf_cpumap_val: the
// first u32 (ifindex or qsize) and the program fd (syscall input) or id
// (lookup output).
struct RedirectVal {
  uint32_t first = 0;
  uint32_t prog = 0;
};

// Reads the program fd of a bpf_devmap_val / bpf_cpumap_val and checks it
// as bpf_prog_get_type_dev(fd, BPF_PROG_TYPE_XDP) plus the expected attach
// type do: *id is the program's id (0 when fd <= 0, no program), or -EINVAL
// for a fd that is not an XDP program of `attach_type`. The reference the
// entry holds is taken by the caller (ProgSlotAcquire).
int CheckRedirectProg(int32_t fd, uint32_t attach_type, uint32_t* id);

// The shared line at the start of a device map's body.
struct DevmapShared {
  std::atomic<uint32_t> items;
  ShmMutex lock;
  uint32_t free_head;  // DEVMAP_HASH: node index + 1, 0 for none
  uint32_t unused;     // DEVMAP_HASH: nodes never handed out start here
};

class DevMapBase : public Map {
 public:
  ~DevMapBase() override;

  [[nodiscard]] int LookupElem(const void* key, void* value,
                               uint64_t flags) override;
  [[nodiscard]] int UpdateElemProg(const void*, const void*,
                                   uint64_t) override {
    return -EOPNOTSUPP;  // the verifier refuses it (BPF_F_RDONLY_PROG)
  }
  [[nodiscard]] int DeleteElemProg(const void*) override { return -EOPNOTSUPP; }
  uint64_t MemUsage(const BuildProfile& build) const override;

  // ops->map_redirect (dev_map_redirect / dev_hash_map_redirect): the
  // lookup is __dev_map_lookup_elem / __dev_map_hash_lookup_elem, and a
  // broadcast visits the entries in dev_map_enqueue_multi's order.
  bool IsRedirectMap() const override { return true; }
  uint64_t RedirectFlagMask() const override {
    return BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
  }

 protected:
  explicit DevMapBase(ShmRegion region);
  // Registers the NETDEV_UNREGISTER listener (after construction).
  void Listen();
  // Drops the entries pointing at `ifindex`.
  virtual void RemoveDevice(uint32_t ifindex) = 0;
  // The bucket or slot count memlock charges a pointer for.
  virtual uint64_t TableSlots() const = 0;
  // Validates `*val` for a new entry: the device, then the program.
  static int Resolve(const RedirectVal& val, uint32_t* prog_id);

  DevmapShared* shared_;

 private:
  uint64_t listener_ = 0;
};

class DevMap final : public DevMapBase {
 public:
  static const MapOps kOps;
  static int AllocCheck(const MapAttr& attr);

  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  void* LookupElemProg(const void* key) override;
  bool RedirectLookup(uint32_t key, RedirectTarget* out) const override;
  std::vector<RedirectTarget> RedirectBroadcast() const override;

 private:
  explicit DevMap(ShmRegion region);
  static uint64_t RegionSize(uint32_t max_entries);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
  void RemoveDevice(uint32_t ifindex) override;
  uint64_t TableSlots() const override { return max_entries(); }

  std::atomic<uint64_t>* slots_;
};

class DevMapHash final : public DevMapBase {
 public:
  static const MapOps kOps;

  [[nodiscard]] int UpdateElem(const void* key, const void* value,
                               uint64_t flags) override;
  [[nodiscard]] int DeleteElem(const void* key) override;
  [[nodiscard]] int GetNextKey(const void* key, void* next_key) override;
  void* LookupElemProg(const void* key) override;
  bool RedirectLookup(uint32_t key, RedirectTarget* out) const override;
  std::vector<RedirectTarget> RedirectBroadcast() const override;

 private:
  struct Node {
    std::atomic<uint32_t> next;  // node index + 1, 0 ends the bucket
    std::atomic<uint32_t> key;
    std::atomic<uint32_t> ifindex;  // with prog_id: struct bpf_devmap_val
    std::atomic<uint32_t> prog_id;
  };
  struct Geometry {
    uint32_t n_buckets;
    uint64_t buckets_off, nodes_off, region_size;
  };
  static Geometry GeometryFor(uint32_t max_entries);

  explicit DevMapHash(ShmRegion region);
  static int Alloc(const MapAttr& attr, uint32_t nr_cpus, int* fd,
                   std::unique_ptr<Map>* out);
  static int Attach(ShmRegion region, std::unique_ptr<Map>* out);
  void RemoveDevice(uint32_t ifindex) override;
  uint64_t TableSlots() const override { return n_buckets_; }

  // The node holding `key` (its index), or -1; walks at most max_entries.
  int64_t FindNode(uint32_t key) const;
  // The node index `link` names (link - 1), or -1 when 0 or out of range.
  int64_t NodeAt(uint32_t link) const;
  // Under the lock: unlinks node `n` from its bucket; true if found.
  bool Unlink(int64_t n);
  // Under the lock: a free node, or -1.
  int64_t AllocNode();
  void FreeNode(int64_t n);
  // Under the lock, after a holder died: rebuilds items and the free list.
  void Repair();

  uint32_t n_buckets_;
  std::atomic<uint32_t>* buckets_;
  Node* nodes_;
};

}  // namespace bpfemu

#endif  // BPFEMU_EMU_DEVMAP_H_

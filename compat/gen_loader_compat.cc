// SPDX-License-Identifier: Apache-2.0
// File: gen_loader_compat.cc
//
// libbpf's loader-program generator (tools/lib/bpf/gen_loader.c and the
// gen_loader branches of tools/lib/bpf/libbpf.c bpf_object_load, libbpf
// 1.1.2) over a bytecode object of libbpfemu: instead of creating maps and
// loading programs, bpf_object__load() writes one BPF_PROG_TYPE_SYSCALL
// program and its data blob, which bpftool's light skeleton
// (`bpftool gen skeleton -L`, bpf/skel_internal.h bpf_load_and_run) loads
// and test-runs: the program issues the BPF_BTF_LOAD, BPF_MAP_CREATE,
// BPF_MAP_UPDATE_ELEM, BPF_MAP_FREEZE and BPF_PROG_LOAD commands through
// bpf_sys_bpf with attributes that live in the blob (reached through
// fd_array[0], the blob's map) and leaves the new fds in the context
// (struct bpf_loader_ctx, then one bpf_map_desc per map and one
// bpf_prog_desc per program).
//
// The layout is libbpf's, so that the same object gives the same bytes:
// the blob starts with the fd_array (64 map slots, 256 kfunc BTF slots),
// each piece is padded to 8 bytes; the program's stack holds the BTF fd,
// an inner map's fd and one fd per program; R6 keeps the context, R7 the
// last command's answer. docs/dropin.md ("The loader generator") lists
// what is generated and what differs.

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "compat/libbpf_internal.h"
#include "emu/interp_asm.h"
#include "loader/elf_object.h"
#include "loader/object.h"

namespace bpfemu::compat {
namespace {

// gen_loader.c's limits: map slots and kfunc BTF slots of the fd_array.
constexpr int kMaxUsedMaps = 64;
constexpr int kMaxKfuncDescs = 256;
constexpr int kFdArraySlots = kMaxUsedMaps + kMaxKfuncDescs;

// bpf/skel_internal.h: the light skeleton's context, read and written by
// the loader program.
struct LoaderCtx {
  uint32_t sz, flags, log_level, log_size;
  uint64_t log_buf;
};
struct MapDesc {
  int32_t map_fd;
  uint32_t max_entries;
  uint64_t initial_value;
};
constexpr uint32_t kSkelKernel = 1;  // BPF_SKEL_KERNEL
static_assert(sizeof(LoaderCtx) == 24 && sizeof(MapDesc) == 16);

// The loader's stack: btf_fd, inner_map_fd, then prog_fd[32] (136 bytes
// below R10).
constexpr int kMaxUsedProgs = 32;
constexpr int kStackSize = 4 + 4 + 4 * kMaxUsedProgs;
constexpr int16_t kStackBtfFd = -kStackSize;
constexpr int16_t kStackInnerMapFd = -kStackSize + 4;
int16_t StackProgFd(uint32_t i) {
  return static_cast<int16_t>(-kStackSize + 8 + 4 * static_cast<int>(i));
}

// Offsets inside union bpf_attr.
#define ATTR_OFF(field) static_cast<int>(offsetof(union bpf_attr, field))
#define ATTR_END(field)                              \
  static_cast<int>(offsetof(union bpf_attr, field) + \
                   sizeof(((union bpf_attr*)nullptr)->field))

// Instructions from emu/interp_asm.h; loads and stores take the loader's
// byte counts (always 1, 2, 4 or 8).
using bpfemu::interp::RawInsn;
using bpfemu::interp::asm_::Call;
using bpfemu::interp::asm_::Exit;
using bpfemu::interp::asm_::Insn;
using bpfemu::interp::asm_::JmpImm;
using bpfemu::interp::asm_::MovImm;
using bpfemu::interp::asm_::MovReg;
using bpfemu::interp::asm_::SizeCode;
RawInsn Alu64Imm(uint8_t op, uint8_t dst, int32_t imm) {
  return bpfemu::interp::asm_::AluImm(op, dst, imm);
}
RawInsn Ldx(int bytes, uint8_t dst, uint8_t src, int16_t off) {
  return bpfemu::interp::asm_::Ldx(SizeCode(bytes), dst, src, off);
}
RawInsn Stx(int bytes, uint8_t dst, uint8_t src, int16_t off) {
  return bpfemu::interp::asm_::Stx(SizeCode(bytes), dst, src, off);
}
RawInsn StImm(int bytes, uint8_t dst, int16_t off, int32_t imm) {
  return bpfemu::interp::asm_::St(SizeCode(bytes), dst, off, imm);
}

// One kfunc the programs call (gen_loader.c struct ksym_desc): the first
// call's instruction (a blob offset) and its BTF fd slot.
struct KfuncDesc {
  std::string name;
  int ref = 0;
  int slot = 0;
  int insn = 0;
};

// A relocation the loader performs itself before BPF_PROG_LOAD: a kfunc
// call (record_extern of BTF_KIND_FUNC).
struct KfuncRelo {
  std::string name;
  bool weak = false;
  uint32_t insn_idx = 0;
};

// The emitter (gen_loader.c struct bpf_gen and its bpf_gen__* calls).
class Gen {
 public:
  // bpf_gen__init.
  void Init(uint32_t nr_progs, uint32_t nr_maps) {
    fd_array_ = AddData(nullptr, kFdArraySlots * 4);
    Emit(MovReg(BPF_REG_6, BPF_REG_1));
    // Zero the stack with bpf_probe_read_kernel(r10 - 136, 136, NULL).
    Emit(MovReg(BPF_REG_1, BPF_REG_10));
    Emit(Alu64Imm(BPF_ADD, BPF_REG_1, -kStackSize));
    Emit(MovImm(BPF_REG_2, kStackSize));
    Emit(MovImm(BPF_REG_3, 0));
    Emit(Call(BPF_FUNC_probe_read_kernel));
    // The error path, jumped over: close the stack's fds and the maps'.
    const uint32_t used = 8 + 4 * nr_progs;
    Emit(JmpImm(BPF_JA, 0, 0,
                static_cast<int16_t>((used / 4) * 3 + 2 + nr_maps * 6)));
    cleanup_label_ = insns_.size();
    for (uint32_t i = 0; i < used; i += 4) {
      Emit(Ldx(4, BPF_REG_1, BPF_REG_10,
               static_cast<int16_t>(-kStackSize + static_cast<int>(i))));
      Emit(JmpImm(BPF_JSLE, BPF_REG_1, 0, 1));
      Emit(Call(BPF_FUNC_sys_close));
    }
    for (uint32_t i = 0; i < nr_maps; ++i) CloseBlobFd(FdSlot(i));
    Emit(MovReg(BPF_REG_0, BPF_REG_7));
    Emit(Exit());
  }

  // bpf_gen__load_btf.
  void LoadBtf(const std::vector<uint8_t>& raw) {
    const int attr_size = ATTR_END(btf_log_level);
    const int btf = AddData(raw.data(), static_cast<uint32_t>(raw.size()));
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.btf_size = static_cast<uint32_t>(raw.size());
    const int at = AddData(&attr, attr_size);
    LogFromCtx(at + ATTR_OFF(btf_log_level), at + ATTR_OFF(btf_log_size),
               at + ATTR_OFF(btf_log_buf));
    StoreBlobAddr(at + ATTR_OFF(btf), btf);
    SysBpf(BPF_BTF_LOAD, at, attr_size);
    CheckErr();
    Emit(Stx(4, BPF_REG_10, BPF_REG_7, kStackBtfFd));
  }

  // bpf_gen__map_create; map_idx -1 for an inner map template.
  void MapCreate(const union bpf_attr& attr, int map_idx) {
    const int attr_size = ATTR_END(map_extra);
    const int at = AddData(&attr, attr_size);
    if (attr.btf_value_type_id != 0) {
      StackToBlob(at + ATTR_OFF(btf_fd), 4, kStackBtfFd);
    }
    const bool of_maps = attr.map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
                         attr.map_type == BPF_MAP_TYPE_HASH_OF_MAPS;
    if (of_maps) {
      StackToBlob(at + ATTR_OFF(inner_map_fd), 4, kStackInnerMapFd);
    }
    // The skeleton's max_entries replaces the definition's unless 0.
    if (map_idx >= 0) {
      CtxToBlob(at + ATTR_OFF(max_entries), 4,
                MapDescOff(map_idx) + offsetof(MapDesc, max_entries), true);
    }
    SysBpf(BPF_MAP_CREATE, at, attr_size);
    CheckErr();
    if (map_idx < 0) {
      Emit(Stx(4, BPF_REG_10, BPF_REG_7, kStackInnerMapFd));
    } else if (static_cast<uint32_t>(map_idx) != nr_maps_) {
      error_ = -EDOM;
      return;
    } else {
      const int slot = AddMapFd();
      LoadBlobAddr(BPF_REG_1, FdSlot(slot));
      Emit(Stx(4, BPF_REG_1, BPF_REG_7, 0));
    }
    if (of_maps) CloseStackFd(kStackInnerMapFd);
  }

  // bpf_gen__map_update_elem: key 0 gets `value`, or the skeleton's
  // initial_value (copied from user memory, or kernel memory with
  // BPF_SKEL_KERNEL) when the context names one.
  void MapUpdate(int map_idx, const void* value, uint32_t value_size) {
    const int attr_size = ATTR_END(flags);
    const int v = AddData(value, value_size);
    const int32_t zero = 0;
    const int key = AddData(&zero, sizeof(zero));
    Emit(Ldx(8, BPF_REG_3, BPF_REG_6,
             static_cast<int16_t>(MapDescOff(map_idx) +
                                  offsetof(MapDesc, initial_value))));
    Emit(JmpImm(BPF_JEQ, BPF_REG_3, 0, 8));
    LoadBlobAddr(BPF_REG_1, v);
    Emit(MovImm(BPF_REG_2, static_cast<int32_t>(value_size)));
    Emit(Ldx(4, BPF_REG_0, BPF_REG_6, offsetof(LoaderCtx, flags)));
    Emit(JmpImm(BPF_JSET, BPF_REG_0, kSkelKernel, 2));
    Emit(Call(BPF_FUNC_copy_from_user));
    Emit(JmpImm(BPF_JA, 0, 0, 1));
    Emit(Call(BPF_FUNC_probe_read_kernel));
    const int at = AddZeroAttr(attr_size);
    BlobToBlob(at + ATTR_OFF(map_fd), 4, FdSlot(map_idx));
    StoreBlobAddr(at + ATTR_OFF(key), key);
    StoreBlobAddr(at + ATTR_OFF(value), v);
    SysBpf(BPF_MAP_UPDATE_ELEM, at, attr_size);
    CheckErr();
  }

  // bpf_gen__populate_outer_map: outer[slot] = the inner map's fd.
  void PopulateOuter(int outer_idx, int32_t slot, int inner_idx) {
    const int attr_size = ATTR_END(flags);
    const int key = AddData(&slot, sizeof(slot));
    const int at = AddZeroAttr(attr_size);
    BlobToBlob(at + ATTR_OFF(map_fd), 4, FdSlot(outer_idx));
    StoreBlobAddr(at + ATTR_OFF(key), key);
    StoreBlobAddr(at + ATTR_OFF(value), FdSlot(inner_idx));
    SysBpf(BPF_MAP_UPDATE_ELEM, at, attr_size);
    CheckErr();
  }

  // bpf_gen__map_freeze.
  void MapFreeze(int map_idx) {
    const int attr_size = ATTR_END(map_fd);
    const int at = AddZeroAttr(attr_size);
    BlobToBlob(at + ATTR_OFF(map_fd), 4, FdSlot(map_idx));
    SysBpf(BPF_MAP_FREEZE, at, attr_size);
    CheckErr();
  }

  // bpf_gen__record_attach_target: the kernel type the program attaches
  // to, found with bpf_btf_find_by_name_kind before its load.
  void RecordAttachTarget(const std::string& name, uint32_t attach_type) {
    std::string prefix;
    attach_kind_ = BTF_KIND_FUNC;
    if (attach_type == BPF_TRACE_RAW_TP) {
      prefix = "btf_trace_";
      attach_kind_ = BTF_KIND_TYPEDEF;
    } else if (attach_type == BPF_LSM_MAC || attach_type == BPF_LSM_CGROUP) {
      prefix = "bpf_lsm_";
    } else if (attach_type == BPF_TRACE_ITER) {
      prefix = "bpf_iter_";
    }
    attach_target_ = prefix + name;
    if (attach_target_.size() >= 128) error_ = -ENOSPC;
  }

  void RecordKfunc(KfuncRelo relo) { kfunc_relos_.push_back(std::move(relo)); }
  void RecordCoreRelo(const bpf_core_relo& relo) {
    core_relos_.push_back(relo);
  }

  // bpf_gen__prog_load. `load` carries the attributes libbpf passes
  // (type, expected_attach_type, attach_btf_id, prog_flags, name, the
  // func_info / line_info record sizes and counts); `func_info` and
  // `line_info` their records.
  void ProgLoad(union bpf_attr attr, const std::string& license,
                const std::vector<bpf_insn>& insns,
                const std::vector<uint8_t>& func_info,
                const std::vector<uint8_t>& line_info) {
    const int attr_size = ATTR_END(core_relo_rec_size);
    const int lic =
        AddData(license.c_str(), static_cast<uint32_t>(license.size() + 1));
    const int code = AddData(
        insns.data(), static_cast<uint32_t>(insns.size() * sizeof(bpf_insn)));
    attr.kern_version = 0;
    attr.insn_cnt = static_cast<uint32_t>(insns.size());
    const int fi =
        AddData(func_info.data(), static_cast<uint32_t>(func_info.size()));
    const int li =
        AddData(line_info.data(), static_cast<uint32_t>(line_info.size()));
    attr.core_relo_rec_size = sizeof(bpf_core_relo);
    attr.core_relo_cnt = static_cast<uint32_t>(core_relos_.size());
    const int cr = AddData(
        core_relos_.data(),
        static_cast<uint32_t>(core_relos_.size() * sizeof(bpf_core_relo)));
    const int at = AddData(&attr, attr_size);
    StoreBlobAddr(at + ATTR_OFF(license), lic);
    StoreBlobAddr(at + ATTR_OFF(insns), code);
    StoreBlobAddr(at + ATTR_OFF(func_info), fi);
    StoreBlobAddr(at + ATTR_OFF(line_info), li);
    StoreBlobAddr(at + ATTR_OFF(core_relos), cr);
    StoreBlobAddr(at + ATTR_OFF(fd_array), fd_array_);
    LogFromCtx(at + ATTR_OFF(log_level), at + ATTR_OFF(log_size),
               at + ATTR_OFF(log_buf));
    StackToBlob(at + ATTR_OFF(prog_btf_fd), 4, kStackBtfFd);
    const bool attach = attach_kind_ != 0;
    if (attach) {
      FindByNameKind(attach_target_, attach_kind_);
      CheckErr();
      // R7: the BTF id in its low half, the BTF object's fd in the high.
      LoadBlobAddr(BPF_REG_0, at);
      Emit(Stx(4, BPF_REG_0, BPF_REG_7, ATTR_OFF(attach_btf_id)));
      Emit(Alu64Imm(BPF_RSH, BPF_REG_7, 32));
      Emit(Stx(4, BPF_REG_0, BPF_REG_7, ATTR_OFF(attach_btf_obj_fd)));
    }
    for (const KfuncRelo& r : kfunc_relos_) {
      KfuncReloc(r, code + static_cast<int>(r.insn_idx * sizeof(bpf_insn)));
    }
    SysBpf(BPF_PROG_LOAD, at, attr_size);
    // Whatever the load said, the kfuncs' module BTF fds are closed.
    for (const KfuncDesc& k : kfuncs_) {
      CloseBlobFd(FdSlot(k.slot));
      if (k.slot < kFdArraySlots) --nr_kfunc_slots_;
    }
    kfuncs_.clear();
    kfunc_relos_.clear();
    core_relos_.clear();
    if (attach) {
      CloseBlobFd(at + ATTR_OFF(attach_btf_obj_fd));
      attach_kind_ = 0;
    }
    CheckErr();
    Emit(Stx(4, BPF_REG_10, BPF_REG_7, StackProgFd(nr_progs_)));
    ++nr_progs_;
  }

  // bpf_gen__finish: close the BTF, hand the fds to the context, return 0.
  int Finish(uint32_t nr_progs, uint32_t nr_maps) {
    if (nr_progs < nr_progs_ || nr_maps != nr_maps_) {
      Print(LIBBPF_WARN, "libbpf: nr_progs %u/%u nr_maps %u/%u mismatch\n",
            nr_progs, nr_progs_, nr_maps, nr_maps_);
      error_ = -EFAULT;
      return error_;
    }
    CloseStackFd(kStackBtfFd);
    const int progs_at = sizeof(LoaderCtx) + sizeof(MapDesc) * nr_maps_;
    for (uint32_t i = 0; i < nr_progs_; ++i) {
      Emit(Ldx(4, BPF_REG_0, BPF_REG_10, StackProgFd(i)));
      Emit(
          Stx(4, BPF_REG_6, BPF_REG_0, static_cast<int16_t>(progs_at + 4 * i)));
    }
    for (uint32_t i = 0; i < nr_maps_; ++i) {
      LoadBlobAddr(BPF_REG_1, FdSlot(static_cast<int>(i)));
      Emit(Ldx(4, BPF_REG_0, BPF_REG_1, 0));
      Emit(Stx(4, BPF_REG_6, BPF_REG_0,
               static_cast<int16_t>(MapDescOff(static_cast<int>(i)) +
                                    offsetof(MapDesc, map_fd))));
    }
    Emit(MovImm(BPF_REG_0, 0));
    Emit(Exit());
    return error_;
  }

  int error() const { return error_; }
  void set_error(int err) { error_ = err; }
  const std::vector<bpf_insn>& insns() const { return insns_; }
  const std::vector<uint8_t>& data() const { return data_; }

 private:
  void Emit(const RawInsn& i) {
    static_assert(sizeof(RawInsn) == sizeof(bpf_insn));
    if (error_ != 0) return;
    if ((insns_.size() + 1) * sizeof(bpf_insn) > INT32_MAX) {
      error_ = -ERANGE;
      return;
    }
    bpf_insn out;
    std::memcpy(&out, &i, sizeof(out));
    insns_.push_back(out);
  }
  // ldimm64 of a blob address: fd_array[0] is the blob's map, the offset
  // is the value's (BPF_PSEUDO_MAP_IDX_VALUE).
  void LoadBlobAddr(uint8_t reg, int off) {
    Emit(Insn(BPF_LD | BPF_DW | BPF_IMM, reg, BPF_PSEUDO_MAP_IDX_VALUE, 0, 0));
    Emit(Insn(0, 0, 0, 0, off));
  }
  // add_data: `size` bytes (zeros for NULL) padded to 8; their offset.
  int AddData(const void* bytes, uint32_t size) {
    const uint32_t size8 = (size + 7) & ~7u;
    if (error_ != 0) return 0;
    if (data_.size() + size8 > INT32_MAX) {
      error_ = -ERANGE;
      return 0;
    }
    const int at = static_cast<int>(data_.size());
    data_.resize(data_.size() + size8, 0);
    if (bytes != nullptr && size != 0) std::memcpy(&data_[at], bytes, size);
    return at;
  }
  int AddZeroAttr(int size) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    return AddData(&attr, static_cast<uint32_t>(size));
  }
  int AddMapFd() {
    if (nr_maps_ == kMaxUsedMaps) {
      Print(LIBBPF_WARN, "libbpf: Total maps exceeds %d\n", kMaxUsedMaps);
      error_ = -E2BIG;
      return 0;
    }
    return static_cast<int>(nr_maps_++);
  }
  int AddKfuncSlot() {
    if (nr_kfunc_slots_ == kMaxKfuncDescs) {
      return (AddData(nullptr, 4) - fd_array_) / 4;
    }
    return kMaxUsedMaps + nr_kfunc_slots_++;
  }
  int FdSlot(int index) const { return fd_array_ + index * 4; }
  static int MapDescOff(int map_idx) {
    return static_cast<int>(sizeof(LoaderCtx) + sizeof(MapDesc) * map_idx);
  }

  void StoreBlobAddr(int off, int target) {  // *(u64 *)(blob + off) = addr
    LoadBlobAddr(BPF_REG_0, target);
    LoadBlobAddr(BPF_REG_1, off);
    Emit(Stx(8, BPF_REG_1, BPF_REG_0, 0));
  }
  void BlobToBlob(int off, int size, int from) {
    LoadBlobAddr(BPF_REG_2, from);
    Emit(Ldx(size, BPF_REG_0, BPF_REG_2, 0));
    LoadBlobAddr(BPF_REG_1, off);
    Emit(Stx(size, BPF_REG_1, BPF_REG_0, 0));
  }
  void CtxToBlob(int off, int size, int ctx_off, bool skip_zero) {
    Emit(Ldx(size, BPF_REG_0, BPF_REG_6, static_cast<int16_t>(ctx_off)));
    if (skip_zero) Emit(JmpImm(BPF_JEQ, BPF_REG_0, 0, 3));
    LoadBlobAddr(BPF_REG_1, off);
    Emit(Stx(size, BPF_REG_1, BPF_REG_0, 0));
  }
  void StackToBlob(int off, int size, int16_t stack_off) {
    Emit(Ldx(size, BPF_REG_0, BPF_REG_10, stack_off));
    LoadBlobAddr(BPF_REG_1, off);
    Emit(Stx(size, BPF_REG_1, BPF_REG_0, 0));
  }
  // The attribute's log_level, log_size and log_buf from the context.
  void LogFromCtx(int level, int size, int buf) {
    CtxToBlob(level, 4, offsetof(LoaderCtx, log_level), false);
    CtxToBlob(size, 4, offsetof(LoaderCtx, log_size), false);
    CtxToBlob(buf, 8, offsetof(LoaderCtx, log_buf), false);
  }
  void SysBpf(int cmd, int attr, int attr_size) {
    Emit(MovImm(BPF_REG_1, cmd));
    LoadBlobAddr(BPF_REG_2, attr);
    Emit(MovImm(BPF_REG_3, attr_size));
    Emit(Call(BPF_FUNC_sys_bpf));
    Emit(MovReg(BPF_REG_7, BPF_REG_0));
  }
  // if (R7 < 0) goto cleanup.
  void CheckErr() {
    const int64_t off =
        -static_cast<int64_t>(insns_.size() - cleanup_label_) - 1;
    if (off == static_cast<int16_t>(off)) {
      Emit(JmpImm(BPF_JSLT, BPF_REG_7, 0, static_cast<int16_t>(off)));
    } else {
      error_ = -ERANGE;
      Emit(JmpImm(BPF_JA, 0, 0, -1));
    }
  }
  void CloseFdInR1() {
    Emit(JmpImm(BPF_JSLE, BPF_REG_1, 0, 2));
    Emit(MovReg(BPF_REG_9, BPF_REG_1));
    Emit(Call(BPF_FUNC_sys_close));
  }
  void CloseStackFd(int16_t stack_off) {
    Emit(Ldx(4, BPF_REG_1, BPF_REG_10, stack_off));
    CloseFdInR1();
  }
  void CloseBlobFd(int off) {
    LoadBlobAddr(BPF_REG_0, off);
    Emit(Ldx(4, BPF_REG_1, BPF_REG_0, 0));
    CloseFdInR1();
  }
  // R7 = bpf_btf_find_by_name_kind(name, len, kind, 0).
  void FindByNameKind(const std::string& name, int kind) {
    const uint32_t len = static_cast<uint32_t>(name.size() + 1);
    const int at = AddData(name.c_str(), len);
    LoadBlobAddr(BPF_REG_1, at);
    Emit(MovImm(BPF_REG_2, static_cast<int32_t>(len)));
    Emit(MovImm(BPF_REG_3, kind));
    Emit(MovImm(BPF_REG_4, 0));
    Emit(Call(BPF_FUNC_btf_find_by_name_kind));
    Emit(MovReg(BPF_REG_7, BPF_REG_0));
  }

  // emit_relo_kfunc_btf: the call at blob offset `insn` gets the kfunc's
  // BTF id in imm and, for a module's BTF, its fd_array slot in off.
  void KfuncReloc(const KfuncRelo& relo, int insn) {
    LoadBlobAddr(BPF_REG_8, insn);
    KfuncDesc* desc = nullptr;
    for (KfuncDesc& k : kfuncs_) {
      if (k.name == relo.name) desc = &k;
    }
    if (desc != nullptr) {
      ++desc->ref;
      BlobToBlob(insn + offsetof(bpf_insn, imm), 4,
                 desc->insn + offsetof(bpf_insn, imm));
      BlobToBlob(insn + offsetof(bpf_insn, off), 2,
                 desc->insn + offsetof(bpf_insn, off));
      return;
    }
    kfuncs_.push_back({relo.name, 1, 0, insn});
    FindByNameKind(relo.name, BTF_KIND_FUNC);
    if (!relo.weak) CheckErr();
    const int slot = AddKfuncSlot();
    if (slot > INT16_MAX) {
      error_ = -E2BIG;
      return;
    }
    kfuncs_.back().slot = slot;
    const int16_t imm_off = offsetof(bpf_insn, imm);
    const int16_t off_off = offsetof(bpf_insn, off);
    Emit(JmpImm(BPF_JSGE, BPF_REG_7, 0, 3));
    Emit(StImm(4, BPF_REG_8, imm_off, 0));
    Emit(StImm(2, BPF_REG_8, off_off, 0));
    Emit(JmpImm(BPF_JA, 0, 0, 10));
    Emit(Stx(4, BPF_REG_8, BPF_REG_7, imm_off));
    Emit(MovReg(BPF_REG_9, BPF_REG_7));
    Emit(Alu64Imm(BPF_RSH, BPF_REG_9, 32));
    Emit(JmpImm(BPF_JNE, BPF_REG_9, 0, 2));
    Emit(StImm(2, BPF_REG_8, off_off, 0));
    Emit(JmpImm(BPF_JA, 0, 0, 4));
    LoadBlobAddr(BPF_REG_0, FdSlot(slot));
    Emit(Stx(4, BPF_REG_0, BPF_REG_9, 0));
    Emit(StImm(2, BPF_REG_8, off_off, static_cast<int32_t>(slot)));
  }

  std::vector<bpf_insn> insns_;
  std::vector<uint8_t> data_;
  size_t cleanup_label_ = 0;
  int fd_array_ = 0;
  uint32_t nr_progs_ = 0, nr_maps_ = 0;
  int nr_kfunc_slots_ = 0;
  int error_ = 0;
  std::string attach_target_;
  int attach_kind_ = 0;
  std::vector<KfuncRelo> kfunc_relos_;
  std::vector<KfuncDesc> kfuncs_;
  std::vector<bpf_core_relo> core_relos_;
};

#undef ATTR_OFF
#undef ATTR_END

// The .BTF.ext subsections as libbpf reads them (btf.c btf_ext__new):
// for func_info, line_info and core_relo, the record size and each
// section's name and records.
struct ExtSection {
  std::string name;
  const uint8_t* recs = nullptr;
  uint32_t count = 0;
};
struct ExtInfo {
  uint32_t rec_size = 0;
  std::vector<ExtSection> secs;
};

uint32_t Read32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The string at `off` of a raw .BTF, or "" when out of range.
std::string BtfString(const std::vector<uint8_t>& btf, uint32_t off) {
  if (btf.size() < 24) return "";
  const uint32_t hdr = Read32(&btf[4]);
  const uint32_t str_off = Read32(&btf[16]), str_len = Read32(&btf[20]);
  const uint64_t start = uint64_t{hdr} + str_off;
  if (off >= str_len || start + str_len > btf.size()) return "";
  const char* s = reinterpret_cast<const char*>(&btf[start + off]);
  return std::string(s, strnlen(s, str_len - off));
}

// One subsection at [off, off + len) after the .BTF.ext header; false when
// malformed (libbpf would have refused the .BTF.ext at open).
bool ReadExtInfo(const std::vector<uint8_t>& ext,
                 const std::vector<uint8_t>& btf, uint32_t off, uint32_t len,
                 ExtInfo* out) {
  if (len == 0) return true;
  const uint64_t hdr = Read32(&ext[4]);
  uint64_t at = hdr + off;
  const uint64_t end = at + len;
  if (end > ext.size() || len < 4) return false;
  out->rec_size = Read32(&ext[at]);
  at += 4;
  while (at < end) {
    if (at + 8 > end) return false;
    ExtSection sec;
    sec.name = BtfString(btf, Read32(&ext[at]));
    sec.count = Read32(&ext[at + 4]);
    at += 8;
    if (at + uint64_t{sec.count} * out->rec_size > end) return false;
    sec.recs = &ext[at];
    at += uint64_t{sec.count} * out->rec_size;
    out->secs.push_back(sec);
  }
  return true;
}

// adjust_prog_btf_ext_info for one (sub)program: the records of section
// `sec` whose instruction lies in [first, first + cnt), appended to *out
// with their byte offsets turned into instruction indexes moved by `adj`.
// -ENOENT when there are none.
int AppendExtRecords(const ExtInfo& info, const std::string& sec,
                     uint32_t first, uint32_t cnt, int64_t adj,
                     std::vector<uint8_t>* out) {
  for (const ExtSection& s : info.secs) {
    if (s.name != sec) continue;
    bool any = false;
    for (uint32_t i = 0; i < s.count; ++i) {
      const uint8_t* rec = s.recs + uint64_t{i} * info.rec_size;
      const uint32_t insn = Read32(rec) / 8;
      if (insn < first) continue;
      if (insn >= first + cnt) break;
      any = true;
      const size_t at = out->size();
      out->insert(out->end(), rec, rec + info.rec_size);
      const uint32_t moved = static_cast<uint32_t>(insn + adj);
      std::memcpy(&(*out)[at], &moved, 4);
    }
    return any ? 0 : -ENOENT;
  }
  return -ENOENT;
}

// SEC() prefixes libbpf's section table marks (libbpf.c section_defs):
// "x+" matches "x" and "x/...".
bool SectionIs(const std::string& sec, std::string_view def) {
  if (sec.compare(0, def.size(), def) != 0) return false;
  return sec.size() == def.size() || sec[def.size()] == '/';
}
bool SleepableSection(const std::string& sec) {
  for (std::string_view d : {"uprobe.s", "uretprobe.s", "fentry.s",
                             "fmod_ret.s", "fexit.s", "lsm.s", "iter.s"}) {
    if (SectionIs(sec, d)) return true;
  }
  return sec == "syscall";
}
bool XdpFragsSection(const std::string& sec) {
  return sec == "xdp.frags" || sec == "xdp.frags/devmap" ||
         sec == "xdp.frags/cpumap";
}
bool AttachBtfSection(const std::string& sec) {
  for (std::string_view d : {"tp_btf", "fentry", "fmod_ret", "fexit",
                             "fentry.s", "fmod_ret.s", "fexit.s", "freplace",
                             "lsm", "lsm.s", "lsm_cgroup", "iter", "iter.s"}) {
    if (SectionIs(sec, d)) return true;
  }
  return false;
}

// Map types libbpf creates without BTF key/value ids
// (bpf_object__create_map).
bool MapWithoutBtf(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
    case BPF_MAP_TYPE_CGROUP_ARRAY:
    case BPF_MAP_TYPE_STACK_TRACE:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS:
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_CPUMAP:
    case BPF_MAP_TYPE_XSKMAP:
    case BPF_MAP_TYPE_SOCKMAP:
    case BPF_MAP_TYPE_SOCKHASH:
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      return true;
    default:
      return false;
  }
}

union bpf_attr MapAttr(const native::Object::MapSettings& s,
                       const std::string& name, uint32_t key_id,
                       uint32_t value_id, bool with_btf) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.map_type = s.type;
  attr.key_size = s.key_size;
  attr.value_size = s.value_size;
  attr.max_entries = s.max_entries;
  attr.map_flags = s.map_flags;
  attr.map_extra = s.map_extra;
  attr.numa_node = s.numa_node;
  attr.map_ifindex = s.map_ifindex;
  std::strncpy(attr.map_name, name.c_str(), sizeof(attr.map_name) - 1);
  if (with_btf && !MapWithoutBtf(s.type)) {
    attr.btf_key_type_id = key_id;
    attr.btf_value_type_id = value_id;
  }
  return attr;
}

int Fail(int err, const char* what, const std::string& name) {
  Print(LIBBPF_WARN, "libbpf: gen_loader: %s '%s': %d\n", what, name.c_str(),
        err);
  return err;
}

}  // namespace

int GenerateLoader(const native::Object& object,
                   const native::Object::LoadSettings& settings,
                   const std::vector<std::string>& pin_paths,
                   std::vector<uint8_t>* insns, std::vector<uint8_t>* data) {
  const native::ElfObject* elf = object.elf();
  if (elf == nullptr) {
    // A natively compiled object has no instructions to put in a loader.
    return Fail(-EOPNOTSUPP, "native object", object.name());
  }
  const uint32_t nr_maps = static_cast<uint32_t>(elf->maps.size());
  const uint32_t nr_programs =
      static_cast<uint32_t>(elf->programs.size()) + elf->text_funcs;
  Gen gen;
  gen.Init(nr_programs, nr_maps);
  const bool with_btf = !elf->btf.empty();
  if (with_btf) gen.LoadBtf(elf->btf);

  for (uint32_t i = 0; i < nr_maps; ++i) {
    const native::ElfMap& m = elf->maps[i];
    const auto& s = settings.maps[i];
    // A .struct_ops / .struct_ops.link map (the object reader makes them
    // since sops51): libbpf's generator resolves their kernel value type
    // and the programs' members at generation time, which this generator
    // does not reproduce byte for byte yet.
    if (m.type == BPF_MAP_TYPE_STRUCT_OPS) {
      return Fail(-EOPNOTSUPP, "struct_ops map", m.name);
    }
    if (!pin_paths[i].empty()) {
      return Fail(-EOPNOTSUPP, "pinned map", m.name);
    }
    // A map not created, or a reused fd, leaves the loader's map count
    // short of the object's: bpf_gen__finish's -EFAULT below.
    if (!s.autocreate || s.reuse_fd >= 0) continue;
    const bool of_maps = s.type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
                         s.type == BPF_MAP_TYPE_HASH_OF_MAPS;
    if (of_maps && s.inner_map_fd >= 0) {
      return Fail(-EOPNOTSUPP, "map-in-map with an inner map fd", m.name);
    }
    if (of_maps && s.inner != nullptr) {
      gen.MapCreate(
          MapAttr(*s.inner, m.name + ".inner", m.inner_btf_key_type_id,
                  m.inner_btf_value_type_id, with_btf),
          -1);
    }
    gen.MapCreate(
        MapAttr(s, m.name, m.btf_key_type_id, m.btf_value_type_id, with_btf),
        static_cast<int>(i));
    if (m.internal) {
      std::vector<uint8_t> value(s.value_size, 0);
      std::memcpy(value.data(), m.initial.data(),
                  std::min<size_t>(value.size(), m.initial.size()));
      gen.MapUpdate(static_cast<int>(i), value.data(), s.value_size);
      if (m.map_flags & BPF_F_RDONLY_PROG) gen.MapFreeze(static_cast<int>(i));
    }
    if (s.type == BPF_MAP_TYPE_PROG_ARRAY) continue;
    for (const auto& slot : m.init_slots) {
      for (uint32_t j = 0; j < nr_maps; ++j) {
        if (elf->maps[j].real_name == slot.target) {
          gen.PopulateOuter(static_cast<int>(i),
                            static_cast<int32_t>(slot.index),
                            static_cast<int>(j));
        }
      }
    }
  }

  ExtInfo func_info, line_info, core_info;
  if (with_btf && elf->btf_ext.size() >= 24) {
    const auto& ext = elf->btf_ext;
    const uint32_t hdr = Read32(&ext[4]);
    bool ok = ReadExtInfo(ext, elf->btf, Read32(&ext[8]), Read32(&ext[12]),
                          &func_info) &&
              ReadExtInfo(ext, elf->btf, Read32(&ext[16]), Read32(&ext[20]),
                          &line_info);
    if (ok && hdr >= 32 && ext.size() >= 32) {
      ok = ReadExtInfo(ext, elf->btf, Read32(&ext[24]), Read32(&ext[28]),
                       &core_info);
    }
    if (!ok) func_info = line_info = core_info = ExtInfo();
  }

  // libbpf sorts its programs by section, then by place in the section
  // (cmp_progs); the programs' fds reach the context in that order.
  std::vector<size_t> order(elf->programs.size());
  for (size_t p = 0; p < order.size(); ++p) order[p] = p;
  auto group = [&](size_t p) {
    size_t g = 0;
    while (elf->programs[g].section != elf->programs[p].section) ++g;
    return g;
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const size_t ga = group(a), gb = group(b);
    if (ga != gb) return ga < gb;
    return elf->programs[a].sec_insn_off < elf->programs[b].sec_insn_off;
  });
  for (size_t p : order) {
    const native::ElfProgram& prog = elf->programs[p];
    const auto& ps = settings.progs[p];
    if (!ps.autoload) continue;
    if (ps.type == BPF_PROG_TYPE_UNSPEC) {
      return Fail(-EINVAL, "missing BPF prog type, program", prog.name);
    }
    if (ps.has_insns) {
      return Fail(-EOPNOTSUPP, "replaced instructions of program", prog.name);
    }
    std::vector<bpf_insn> code(prog.insns.size());
    std::memcpy(code.data(), prog.insns.data(), code.size() * sizeof(bpf_insn));
    for (const native::ElfMapReloc& r : prog.relocs) {
      bpf_insn* in = &code[r.insn];
      if (r.value) {
        in[0].src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
        in[1].imm = static_cast<int32_t>(r.offset);
      } else {
        in[0].src_reg = BPF_PSEUDO_MAP_IDX;
      }
      in[0].imm = static_cast<int32_t>(r.map);
    }
    // The loader's own relocations, in instruction order: CO-RE records
    // (the kernel applies them) and kfunc calls.
    struct Pending {
      uint32_t insn;
      const bpf_core_relo* core;
      const native::ElfKfuncReloc* kfunc;
    };
    std::vector<bpf_core_relo> cores;
    std::vector<Pending> pending;
    auto add_core = [&](const std::string& sec, uint32_t first, uint32_t cnt,
                        int64_t adj) {
      for (const ExtSection& s : core_info.secs) {
        if (s.name != sec) continue;
        for (uint32_t i = 0; i < s.count; ++i) {
          bpf_core_relo r;
          std::memcpy(&r, s.recs + uint64_t{i} * core_info.rec_size, sizeof(r));
          const uint32_t insn = r.insn_off / 8;
          if (insn < first || insn >= first + cnt) continue;
          r.insn_off = static_cast<uint32_t>((insn + adj) * 8);
          cores.push_back(r);
        }
      }
    };
    add_core(prog.section, prog.sec_insn_off, prog.sec_insn_cnt,
             -int64_t{prog.sec_insn_off});
    if (prog.text_base >= 0) {
      add_core(".text", 0, static_cast<uint32_t>(elf->text.size()),
               prog.text_base);
    }
    for (const bpf_core_relo& r : cores) {
      pending.push_back({r.insn_off / 8, &r, nullptr});
    }
    for (const native::ElfKfuncReloc& k : prog.kfunc_relocs) {
      pending.push_back({k.insn, nullptr, &k});
    }
    std::stable_sort(
        pending.begin(), pending.end(),
        [](const Pending& a, const Pending& b) { return a.insn < b.insn; });
    for (const Pending& e : pending) {
      if (e.core != nullptr) {
        gen.RecordCoreRelo(*e.core);
      } else {
        const native::ElfKsymFunc& f = elf->ksym_funcs[e.kfunc->ksym];
        gen.RecordKfunc({f.name, f.weak, e.insn});
      }
    }

    union bpf_attr attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.prog_type = ps.type;
    attr.expected_attach_type = ps.expected_attach_type;
    attr.prog_ifindex = ps.ifindex;
    attr.prog_flags = ps.prog_flags;
    if (SleepableSection(prog.section)) attr.prog_flags |= BPF_F_SLEEPABLE;
    if (ps.type == BPF_PROG_TYPE_XDP && XdpFragsSection(prog.section)) {
      attr.prog_flags |= BPF_F_XDP_HAS_FRAGS;
    }
    if (AttachBtfSection(prog.section)) {
      const size_t slash = prog.section.find('/');
      if (slash == std::string::npos) {
        return Fail(-EINVAL, "no BTF-based attach target for program",
                    prog.name);
      }
      if (ps.type == BPF_PROG_TYPE_EXT) {
        return Fail(-EINVAL, "attach program FD is not set for program",
                    prog.name);
      }
      gen.RecordAttachTarget(prog.section.substr(slash + 1),
                             ps.expected_attach_type);
      attr.attach_btf_id = 1;
    }
    std::strncpy(attr.prog_name, prog.name.c_str(), sizeof(attr.prog_name) - 1);
    std::vector<uint8_t> fi, li;
    if (with_btf && !func_info.secs.empty()) {
      int err =
          AppendExtRecords(func_info, prog.section, prog.sec_insn_off,
                           prog.sec_insn_cnt, -int64_t{prog.sec_insn_off}, &fi);
      if (err == 0 && prog.text_base >= 0) {
        err = AppendExtRecords(func_info, ".text", 0,
                               static_cast<uint32_t>(elf->text.size()),
                               prog.text_base, &fi);
        if (err != 0)
          return Fail(err, "missing .BTF.ext function info of", prog.name);
      }
      if (!fi.empty()) {
        attr.func_info_rec_size = func_info.rec_size;
        attr.func_info_cnt =
            static_cast<uint32_t>(fi.size() / func_info.rec_size);
      }
    }
    if (with_btf && !line_info.secs.empty()) {
      int err =
          AppendExtRecords(line_info, prog.section, prog.sec_insn_off,
                           prog.sec_insn_cnt, -int64_t{prog.sec_insn_off}, &li);
      if (err == 0 && prog.text_base >= 0) {
        err = AppendExtRecords(line_info, ".text", 0,
                               static_cast<uint32_t>(elf->text.size()),
                               prog.text_base, &li);
        if (err != 0)
          return Fail(err, "missing .BTF.ext line info of", prog.name);
      }
      if (!li.empty()) {
        attr.line_info_rec_size = line_info.rec_size;
        attr.line_info_cnt =
            static_cast<uint32_t>(li.size() / line_info.rec_size);
      }
    }
    gen.ProgLoad(attr, elf->license, code, fi, li);
  }
  // bpf_object_init_prog_arrays: a loader cannot fill a program array.
  for (uint32_t i = 0; i < nr_maps; ++i) {
    if (settings.maps[i].type == BPF_MAP_TYPE_PROG_ARRAY &&
        !elf->maps[i].init_slots.empty()) {
      return Fail(-EOPNOTSUPP, "program array with initial slots",
                  elf->maps[i].name);
    }
  }
  if (int err = gen.Finish(nr_programs, nr_maps); err != 0) return err;
  const auto* bytes = reinterpret_cast<const uint8_t*>(gen.insns().data());
  insns->assign(bytes, bytes + gen.insns().size() * sizeof(bpf_insn));
  *data = gen.data();
  return 0;
}

}  // namespace bpfemu::compat

// SPDX-License-Identifier: Apache-2.0
// The exception callback of a program loaded with BTF (kernel/bpf/
// verifier.c bpf_find_exception_callback_insn_off): loader/exception_cb.h.

#include "loader/exception_cb.h"

#include <linux/btf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "loader/btf.h"

namespace bpfemu::native {
namespace {

constexpr std::string_view kTagKey = "exception_callback:";

struct FuncInfo {
  uint32_t insn_off, type_id;
};

void Say(std::string* log, const std::string& line) {
  if (log != nullptr) *log += line + "\n";
}

// btf_find_next_decl_tag() after `last`: a DECL_TAG on type `target`,
// component -1, named kTagKey...; its id or 0.
uint32_t NextTag(const BtfData& btf, uint32_t target, uint32_t last) {
  for (uint32_t id = last + 1; id < btf.TypeCnt(); ++id) {
    const btf_type* t = btf.Type(id);
    if (t == nullptr || BTF_INFO_KIND(t->info) != BTF_KIND_DECL_TAG) continue;
    if (t->type != target) continue;
    int32_t comp;
    std::memcpy(&comp, t + 1, sizeof(comp));
    if (comp != -1) continue;
    const char* name = btf.Name(t);
    if (name == nullptr ||
        std::string_view(name).substr(0, kTagKey.size()) != kTagKey) {
      continue;
    }
    return id;
  }
  return 0;
}

// btf_prepare_func_args()' verdict on the callback: one argument, an
// integer (ARG_ANYTHING: an int or enum behind modifiers and typedefs).
bool OneIntegerArg(const BtfData& btf, const btf_type* func) {
  const btf_type* proto = btf.Type(func->type);
  if (proto == nullptr || BTF_INFO_KIND(proto->info) != BTF_KIND_FUNC_PROTO ||
      BTF_INFO_VLEN(proto->info) != 1) {
    return false;
  }
  btf_param param;
  std::memcpy(&param, proto + 1, sizeof(param));
  const int id = btf.ResolveType(param.type);
  if (id <= 0) return false;
  const uint32_t kind = BTF_INFO_KIND(btf.Type(id)->info);
  return kind == BTF_KIND_INT || kind == BTF_KIND_ENUM ||
         kind == BTF_KIND_ENUM64;
}

}  // namespace

int FindExceptionCallback(const std::vector<uint8_t>& btf_raw,
                          const std::vector<uint8_t>& func_info,
                          uint32_t nr_func_info, uint32_t* insn_off,
                          std::string* log) {
  *insn_off = 0;
  // Non-zero func_info_cnt implies a valid BTF (check_btf_func_early).
  if (nr_func_info == 0 || btf_raw.empty() ||
      func_info.size() < size_t{nr_func_info} * sizeof(FuncInfo)) {
    return 0;
  }
  std::unique_ptr<BtfData> btf;
  if (BtfData::Parse(btf_raw, nullptr, &btf) != 0) return 0;
  auto info = [&](uint32_t i) {
    FuncInfo f;
    std::memcpy(&f, func_info.data() + size_t{i} * sizeof(f), sizeof(f));
    return f;
  };
  const uint32_t main_id = info(0).type_id;
  if (main_id == 0 || main_id >= btf->TypeCnt()) {
    Say(log, "invalid btf id for main subprog in func_info");
    return -EINVAL;
  }
  const uint32_t tag = NextTag(*btf, main_id, 0);
  if (tag == 0) return 0;  // no exception callback
  if (NextTag(*btf, main_id, tag) != 0) {
    Say(log, "multiple exception callback tags for main subprog");
    return -EEXIST;
  }
  const std::string name =
      std::string(btf->Name(btf->Type(tag))).substr(kTagKey.size());
  const int id = btf->FindByNameKind(name, BTF_KIND_FUNC);
  if (id <= 0) {
    Say(log, "exception callback '" + name + "' could not be found in BTF");
    return -ENOENT;
  }
  const btf_type* func = btf->Type(static_cast<uint32_t>(id));
  if (BTF_INFO_VLEN(func->info) != BTF_FUNC_GLOBAL) {
    Say(log, "exception callback '" + name + "' must have global linkage");
    return -EINVAL;
  }
  // Every record naming it counts; the last one's offset stays.
  int ret = 0;
  for (uint32_t i = 0; i < nr_func_info; ++i) {
    const FuncInfo f = info(i);
    if (f.type_id != static_cast<uint32_t>(id)) continue;
    ret = static_cast<int>(f.insn_off);
    if (ret == 0) {
      Say(log, "invalid exception callback insn_off in func_info: 0");
      ret = -EINVAL;
    }
  }
  if (ret == 0) {
    Say(log, "exception callback type id not found in func_info");
    return -EINVAL;
  }
  if (ret < 0) return ret;
  // do_check_common() of the callback's subprogram, after the main one.
  if (!OneIntegerArg(*btf, func)) {
    Say(log, "exception cb only supports single integer argument");
    return -EINVAL;
  }
  *insn_off = static_cast<uint32_t>(ret);
  return 0;
}

}  // namespace bpfemu::native

// SPDX-License-Identifier: Apache-2.0
// The cgroup hooks' run context and the sysctl hook (native/cgroup_hooks.h),
// mirroring kernel/bpf/cgroup.c: bpf_prog_run_array_cg, bpf_get_retval,
// bpf_set_retval, __cgroup_bpf_run_filter_sysctl, sysctl_cpy_dir,
// bpf_sysctl_get_name, copy_sysctl_value and the sysctl value helpers;
// lib/string.c sized_strscpy for the names' copies.
#include "native/cgroup_hooks.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "bpfemu/native_abi.h"

namespace bpfemu::native {
namespace {

constexpr size_t kPageSize = 4096;

thread_local CgRunCtx* cg_run = nullptr;

// struct bpf_sysctl_kern: what the helpers see of the access being run.
struct SysctlFrame {
  const SysctlAccess* access = nullptr;
  const void* ctx = nullptr;  // the struct bpf_sysctl the programs get
  // cur_val: a page holding what the handler printed (cur_len 0: none).
  char cur_val[kPageSize];
  size_t cur_len = 0;
  // new_val: a page, present for a write with bytes (has_new).
  bool has_new = false;
  char new_val[kPageSize];
  size_t new_len = 0;
  bool new_updated = false;
};

thread_local SysctlFrame* sysctl_run = nullptr;

// sized_strscpy() as x86-64 builds it (CONFIG_DCACHE_WORD_ACCESS): while at
// least a word of room is left it copies whole words, and the word holding
// the terminating NUL is stored with the bytes after the NUL zeroed; the
// rest byte by byte. -E2BIG when `src` does not fit (the copy then ends in
// a NUL at dest[count - 1]).
long Strscpy(char* dest, const char* src, size_t count) {
  const size_t src_len = std::strlen(src);
  if (count == 0) return -E2BIG;
  size_t res = 0;
  while (count >= sizeof(uint64_t)) {
    if (res + sizeof(uint64_t) > src_len) {  // the NUL is in this word
      const size_t in_word = src_len - res;
      std::memcpy(dest + res, src + res, in_word);
      std::memset(dest + res + in_word, 0, sizeof(uint64_t) - in_word);
      return static_cast<long>(src_len);
    }
    std::memcpy(dest + res, src + res, sizeof(uint64_t));
    res += sizeof(uint64_t);
    count -= sizeof(uint64_t);
  }
  while (count != 0) {
    const char c = res < src_len ? src[res] : '\0';
    dest[res] = c;
    if (c == '\0') return static_cast<long>(res);
    ++res;
    --count;
  }
  if (res != 0) dest[res - 1] = '\0';
  return -E2BIG;
}

// sysctl_cpy_dir(): the directories of the sysctl from the top, each
// followed by '/', the root's empty name without one.
long CopyDirs(const std::vector<std::string>& dirs, char** bufp, size_t* lenp) {
  long total = 0;
  // The root directory's procname is "".
  long ret = Strscpy(*bufp, "", *lenp);
  if (ret < 0) return ret;
  for (const std::string& d : dirs) {
    ret = Strscpy(*bufp, d.c_str(), *lenp);
    if (ret < 0) return ret;
    *bufp += ret;
    *lenp -= static_cast<size_t>(ret);
    ret += total;
    if (ret == 0) {  // no leading slash
      total = 0;
      continue;
    }
    const long slash = Strscpy(*bufp, "/", *lenp);
    if (slash < 0) return slash;
    *bufp += slash;
    *lenp -= static_cast<size_t>(slash);
    total = ret + slash;
  }
  return total;
}

// copy_sysctl_value().
long CopySysctlValue(char* dst, size_t dst_len, const char* src,
                     size_t src_len) {
  if (dst == nullptr) return -EINVAL;
  if (dst_len == 0) return -E2BIG;
  if (src == nullptr || src_len == 0) {
    std::memset(dst, 0, dst_len);
    return -EINVAL;
  }
  std::memcpy(dst, src, dst_len < src_len ? dst_len : src_len);
  if (dst_len > src_len) {
    std::memset(dst + src_len, 0, dst_len - src_len);
    return static_cast<long>(src_len);
  }
  dst[dst_len - 1] = '\0';
  return -E2BIG;
}

}  // namespace

int RunCgroupArray(size_t n, int retval,
                   absl::FunctionRef<uint32_t(size_t i)> run,
                   std::vector<uint32_t>* verdicts) {
  CgRunCtx ctx{retval};
  CgRunCtx* const outer = cg_run;
  cg_run = &ctx;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t r = run(i);
    if (verdicts != nullptr) verdicts->push_back(r);
    // IS_ERR_VALUE(): -MAX_ERRNO (-4095) .. -1.
    const bool is_err = ctx.retval < 0 && ctx.retval >= -4095;
    if (r == 0 && !is_err) ctx.retval = -EPERM;
  }
  cg_run = outer;
  return ctx.retval;
}

int GetRetval() { return cg_run != nullptr ? cg_run->retval : 0; }

int SetRetval(int retval) {
  if (cg_run != nullptr) cg_run->retval = retval;
  return 0;
}

SysctlOutcome RunSysctlHook(
    size_t n, const SysctlAccess& access,
    absl::FunctionRef<uint32_t(size_t i, void* ctx)> run) {
  auto frame = std::make_unique<SysctlFrame>();
  frame->access = &access;
  if (access.current.has_value()) {
    frame->cur_len =
        access.current->size() < kPageSize ? access.current->size() : kPageSize;
    std::memcpy(frame->cur_val, access.current->data(), frame->cur_len);
  }
  if (access.write && !access.new_value.empty()) {
    frame->has_new = true;
    frame->new_len = access.new_value.size() < kPageSize
                         ? access.new_value.size()
                         : kPageSize;
    std::memcpy(frame->new_val, access.new_value.data(), frame->new_len);
  }
  struct bpf_sysctl ctx = {};
  frame->ctx = &ctx;
  SysctlOutcome out;
  out.pos = access.pos;
  SysctlFrame* const outer = sysctl_run;
  sysctl_run = frame.get();
  out.ret = RunCgroupArray(
      n, 0,
      [&](size_t i) {
        // The context's fields are bpf_sysctl_kern's write and the low 32
        // bits of *ppos (file_pos reads and writes go through the pointer).
        ctx.write = access.write ? 1 : 0;
        ctx.file_pos = static_cast<uint32_t>(out.pos);
        const uint32_t r = run(i, &ctx);
        out.pos = static_cast<int64_t>(
            (static_cast<uint64_t>(out.pos) & ~uint64_t{0xffffffff}) |
            ctx.file_pos);
        return r;
      },
      &out.verdicts);
  sysctl_run = outer;
  if (out.ret == 0 && frame->new_updated) {
    out.new_updated = true;
    out.new_value.assign(frame->new_val, frame->new_len);
  } else {
    out.new_value = access.new_value;
  }
  return out;
}

long SysctlGetName(const void* /*ctx*/, char* buf, size_t len, uint64_t flags) {
  SysctlFrame* f = sysctl_run;
  if (f == nullptr) return -EINVAL;
  if (buf == nullptr) return -EINVAL;
  const std::string& name = f->access->name;
  const size_t slash = name.rfind('/');
  const std::string base =
      slash == std::string::npos ? name : name.substr(slash + 1);
  long dirs_len = 0;
  if ((flags & BPF_F_SYSCTL_BASE_NAME) == 0) {
    std::vector<std::string> dirs;
    size_t at = 0;
    while (slash != std::string::npos && at <= slash) {
      const size_t next = name.find('/', at);
      dirs.push_back(name.substr(at, next - at));
      at = next + 1;
    }
    dirs_len = CopyDirs(dirs, &buf, &len);
    if (dirs_len < 0) return dirs_len;
  }
  const long ret = Strscpy(buf, base.c_str(), len);
  return ret < 0 ? ret : dirs_len + ret;
}

long SysctlGetCurrentValue(const void* /*ctx*/, char* buf, size_t len) {
  SysctlFrame* f = sysctl_run;
  if (f == nullptr) return -EINVAL;
  return CopySysctlValue(buf, len, f->cur_len != 0 ? f->cur_val : nullptr,
                         f->cur_len);
}

long SysctlGetNewValue(const void* /*ctx*/, char* buf, size_t len) {
  SysctlFrame* f = sysctl_run;
  if (f == nullptr) return -EINVAL;
  if (!f->access->write) {
    if (buf != nullptr && len != 0) std::memset(buf, 0, len);
    return -EINVAL;
  }
  return CopySysctlValue(buf, len, f->has_new ? f->new_val : nullptr,
                         f->new_len);
}

long SysctlSetNewValue(const void* /*ctx*/, const char* buf, size_t len) {
  SysctlFrame* f = sysctl_run;
  if (f == nullptr) return -EINVAL;
  if (!f->access->write || !f->has_new || f->new_len == 0 || buf == nullptr ||
      len == 0) {
    return -EINVAL;
  }
  if (len > kPageSize - 1) return -E2BIG;
  std::memcpy(f->new_val, buf, len);
  f->new_val[len] = '\0';
  f->new_len = len;
  f->new_updated = true;
  return 0;
}

}  // namespace bpfemu::native

extern "C" {

long bpfemu_sysctl_get_name(void* ctx, char* buf, unsigned long buf_len,
                            __u64 flags) {
  return bpfemu::native::SysctlGetName(ctx, buf, buf_len, flags);
}
long bpfemu_sysctl_get_current_value(void* ctx, char* buf,
                                     unsigned long buf_len) {
  return bpfemu::native::SysctlGetCurrentValue(ctx, buf, buf_len);
}
long bpfemu_sysctl_get_new_value(void* ctx, char* buf, unsigned long buf_len) {
  return bpfemu::native::SysctlGetNewValue(ctx, buf, buf_len);
}
long bpfemu_sysctl_set_new_value(void* ctx, const char* buf,
                                 unsigned long buf_len) {
  return bpfemu::native::SysctlSetNewValue(ctx, buf, buf_len);
}
int bpfemu_get_retval(void) { return bpfemu::native::GetRetval(); }
int bpfemu_set_retval(int retval) { return bpfemu::native::SetRetval(retval); }

}  // extern "C"

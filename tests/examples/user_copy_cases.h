// SPDX-License-Identifier: Apache-2.0
// The cases of tests/examples/user_copy.bpf.c (the user / kernel memory
// copy kfuncs of Linux 6.18) and their record: one line per case,
// "<case>\t<err>\t<retval>\t<return value>\t<buffer hex>".
// user_copy_compare_test runs them on the kernel and on bpfemu and writes
// the kernel's lines to testdata/user_copy.expected when USER_COPY_RECORD
// names that file; user_copy_test checks bpfemu against it without root.
//
// The user sources live in the test process: a short string, a 300-byte
// one, a string that runs into a PROT_NONE page, that page itself, and
// NULL; the kernel source is the program's `srcs` map value. Natively the
// process is both memories (a user read of the map value succeeds, a
// kernel read of a user address too), so those cases are the
// interpreter's only there.

#ifndef BPFEMU_TESTS_EXAMPLES_USER_COPY_CASES_H_
#define BPFEMU_TESTS_EXAMPLES_USER_COPY_CASES_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace bpfemu::examples::user_copy {

inline constexpr uint32_t kBufLen = 320;

enum Op : uint32_t {
  kProbeUser,
  kProbeKernel,
  kProbeUserStr,
  kProbeKernelStr,
  kCopyUser,
  kCopyUserStr,
  kCopyTask,
  kCopyTaskStr,
  kUserStr,
  kUserTaskStr,
};

// Where the source is.
enum Src : uint32_t { kHello, kLong, kEdge, kFault, kNull, kMap };

// struct copy_args of user_copy.bpf.c.
struct Args {
  uint64_t uptr;
  uint64_t flags;
  uint32_t op;
  uint32_t src;  // 0: uptr, 1: the map value
  uint32_t null_dynptr;
  uint32_t dsize;
  uint32_t off;
  uint32_t size;
};

// struct result.
struct Result {
  int64_t ret;
  uint8_t buf[kBufLen];
};

struct Case {
  std::string name;
  uint32_t op;
  Src src;
  uint32_t dsize, off, size;
  uint64_t flags = 0;
  bool null_dynptr = false;
};

inline const char* const kOpNames[] = {
    "probe_read_user",       "probe_read_kernel",       "probe_read_user_str",
    "probe_read_kernel_str", "copy_from_user",          "copy_from_user_str",
    "copy_from_user_task",   "copy_from_user_task_str", "user_str",
    "user_task_str"};

inline std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (uint32_t op = kProbeUser; op <= kCopyTaskStr; ++op) {
    const std::string n = kOpNames[op];
    cases.push_back({n + " hello", op, kHello, kBufLen, 0, 13});
    cases.push_back({n + " hello short", op, kHello, kBufLen, 10, 5});
    cases.push_back({n + " long 300", op, kLong, kBufLen, 0, 300});
    cases.push_back({n + " long 256 at 7", op, kLong, kBufLen, 7, 256});
    cases.push_back({n + " edge", op, kEdge, kBufLen, 0, 16});
    cases.push_back({n + " fault", op, kFault, kBufLen, 0, 8});
    cases.push_back({n + " null", op, kNull, kBufLen, 0, 8});
    cases.push_back({n + " map", op, kMap, kBufLen, 0, 24});
    cases.push_back({n + " past dynptr end", op, kHello, 16, 10, 8});
    cases.push_back({n + " size 0", op, kHello, kBufLen, 4, 0});
    cases.push_back({n + " size 1", op, kHello, kBufLen, 4, 1});
    cases.push_back({n + " null dynptr", op, kHello, kBufLen, 0, 4, 0, true});
    cases.push_back(
        {n + " null dynptr size 0", op, kHello, kBufLen, 0, 0, 0, true});
  }
  for (uint32_t op : {kUserStr, kUserTaskStr}) {
    const std::string n = kOpNames[op];
    cases.push_back({n + " hello", op, kHello, 20, 0, 0});
    cases.push_back({n + " hello pad", op, kHello, 20, 0, 0, 1});
    cases.push_back({n + " bad flags", op, kHello, 20, 0, 0, 2});
    cases.push_back({n + " size 0", op, kHello, 0, 0, 0});
    cases.push_back({n + " size 0 bad flags", op, kHello, 0, 0, 0, 2});
    cases.push_back({n + " truncated", op, kHello, 5, 0, 0});
    cases.push_back({n + " exact", op, kHello, 13, 0, 0});
    cases.push_back({n + " one short", op, kHello, 12, 0, 0});
    cases.push_back({n + " long", op, kLong, kBufLen, 0, 0});
    cases.push_back({n + " edge", op, kEdge, 16, 0, 0});
    cases.push_back({n + " fault", op, kFault, 16, 0, 0});
    cases.push_back({n + " fault pad", op, kFault, 16, 0, 0, 1});
    cases.push_back({n + " null", op, kNull, 16, 0, 0});
    cases.push_back({n + " map", op, kMap, 30, 0, 0});
  }
  return cases;
}

inline bool KernelRead(uint32_t op) {
  return op == kProbeKernel || op == kProbeKernelStr;
}

// Natively the process is both memories: a user read of kernel memory
// (the map value) or a kernel read of a user address reads it.
inline bool InterpreterOnly(const Case& c) {
  if (KernelRead(c.op)) return c.src != kMap && c.src != kNull;
  return c.src == kMap;
}

// The user sources, in pages of the test process away from its stack
// (a syscall program's context is copied in; bpfemu runs on the caller's
// copy, and the interpreter takes the memory around it as the context's).
class Sources {
 public:
  Sources() {
    page_ = sysconf(_SC_PAGESIZE);
    void* m = mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    pages_ = static_cast<char*>(m);
    mprotect(pages_ + page_, page_, PROT_NONE);
    fault_ = pages_ + page_;
    // "abcdef" with no NUL before the PROT_NONE page.
    edge_ = fault_ - 6;
    std::memcpy(edge_, "abcdef", 6);
    hello_ = pages_;
    std::strcpy(hello_, "hello, world");
    long_ = pages_ + 64;
    for (int i = 0; i < 300; ++i) long_[i] = static_cast<char>('a' + i % 26);
    long_[300] = 0;
  }
  ~Sources() { munmap(pages_, 2 * page_); }
  Sources(const Sources&) = delete;
  Sources& operator=(const Sources&) = delete;
  uint64_t Addr(Src s) const {
    switch (s) {
      case kHello:
        return reinterpret_cast<uint64_t>(hello_);
      case kLong:
        return reinterpret_cast<uint64_t>(long_);
      case kEdge:
        return reinterpret_cast<uint64_t>(edge_);
      case kFault:
        return reinterpret_cast<uint64_t>(fault_);
      default:
        return 0;
    }
  }

 private:
  long page_;
  char* pages_;
  char* hello_;
  char* long_;
  char* edge_;
  char* fault_;
};

inline Args ToArgs(const Case& c, const Sources& s) {
  Args a{};
  a.uptr = s.Addr(c.src);
  a.flags = c.flags;
  a.op = c.op;
  a.src = c.src == kMap ? 1 : 0;
  a.null_dynptr = c.null_dynptr ? 1 : 0;
  a.dsize = c.dsize;
  a.off = c.off;
  a.size = c.size;
  return a;
}

// The kernel-memory source: "kernel memory, map value" and zeros.
inline void MapSource(char out[kBufLen]) {
  std::memset(out, 0, kBufLen);
  std::strcpy(out, "kernel memory, map value");
}

inline void InitialResult(Result* r) {
  r->ret = -1000;
  std::memset(r->buf, 0xcc, kBufLen);
}

inline std::string Line(const std::string& name, int err, uint32_t retval,
                        const Result& r) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : r.buf) {
    hex += kDigits[b >> 4];
    hex += kDigits[b & 15];
  }
  return name + "\t" + std::to_string(err) + "\t" + std::to_string(retval) +
         "\t" + std::to_string(r.ret) + "\t" + hex + "\n";
}

}  // namespace bpfemu::examples::user_copy

#endif  // BPFEMU_TESTS_EXAMPLES_USER_COPY_CASES_H_

// SPDX-License-Identifier: Apache-2.0
// tests/examples/stream.bpf.c on the kernel (BPF_PROG_TEST_RUN of its tc
// programs, then bpf(BPF_PROG_STREAM_READ_BY_FD) through the raw syscall:
// Debian 12's libbpf and uapi headers predate the command) and on bpfemu,
// natively and as bytecode (emu/stream.h ProgStreamReadByFd): the kfunc's
// answers, the text each stream gives in reads of several sizes, a stream
// filled to its capacity, and the command's errnos (stream ids, fds, a
// NULL buffer, a zero size).

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "emu/interp.h"
#include "emu/stream.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"
#include "tests/examples/packets.h"

namespace bpfemu::examples {
namespace {

struct Answers {
  int64_t r[8];
};
constexpr int64_t kUnset = -1000;

// attr.prog_stream_read, as 6.17's uapi lays it out.
struct StreamReadAttr {
  uint64_t stream_buf;
  uint32_t stream_buf_len;
  uint32_t stream_id;
  uint32_t prog_fd;
  uint32_t pad;  // must stay zero (CHECK_ATTR)
};

int KernelStreamRead(int prog_fd, uint32_t id, void* buf, uint32_t len,
                     uint32_t pad = 0) {
  StreamReadAttr a = {reinterpret_cast<uint64_t>(buf), len, id,
                      static_cast<uint32_t>(prog_fd), pad};
  const long r = syscall(__NR_bpf, kBpfProgStreamReadByFd, &a, sizeof(a));
  return r < 0 ? -errno : static_cast<int>(r);
}

// One face: runs a program and reads a stream.
struct Face {
  std::function<Answers(const std::string& prog)> run;
  std::function<int(const std::string& prog, uint32_t id, void* buf,
                    uint32_t len)>
      read;
  std::function<int(const std::string& map)> map_fd;
};

std::string ReadString(const Face& f, const std::string& prog, uint32_t id,
                       uint32_t len, int* ret) {
  std::string s(len, '\0');
  *ret = f.read(prog, id, s.data(), len);
  s.resize(*ret > 0 ? static_cast<size_t>(*ret) : 0);
  return s;
}

// One observation; `alloc`: it depends on a print's allocation, which the
// 6.18 host's kmalloc_nolock() refuses (every print -ENOMEM there).
struct Step {
  std::string text;
  bool alloc;
};

// Everything the scenario observes, in order.
std::vector<Step> Scenario(const Face& f) {
  std::vector<Step> seen;
  auto note = [&seen](const std::string& what, int64_t v, bool alloc) {
    seen.push_back({what + "=" + std::to_string(v), alloc});
  };
  auto text = [&seen](const std::string& what, const std::string& v) {
    seen.push_back({what + "=" + v, true});
  };
  auto answers = [&](const std::string& prog, int n, bool alloc) {
    const Answers a = f.run(prog);
    for (int i = 0; i < n; ++i) {
      note(prog + ".r" + std::to_string(i), a.r[i], alloc);
    }
  };
  int ret = 0;
  answers("stream_print", 3, true);
  text("stdout[5]", ReadString(f, "stream_print", 1, 5, &ret));
  note("ret", ret, true);
  text("stdout[100]", ReadString(f, "stream_print", 1, 100, &ret));
  note("ret", ret, true);
  text("stdout[100]", ReadString(f, "stream_print", 1, 100, &ret));
  note("ret", ret, false);
  // A NULL buffer with text waiting: EFAULT, and the text stays.
  note("null buf", f.read("stream_print", 2, nullptr, 10), true);
  note("zero len", f.read("stream_print", 2, nullptr, 0), false);
  text("stderr[100]", ReadString(f, "stream_print", 2, 100, &ret));
  note("ret", ret, true);
  char b[8];
  note("id 0", f.read("stream_print", 0, b, 8), false);
  note("id 3", f.read("stream_print", 3, b, 8), false);
  // Refused before anything is allocated: the same on every kernel.
  answers("stream_errors", 7, false);
  text("stdout[100]", ReadString(f, "stream_errors", 1, 100, &ret));
  answers("stream_long", 4, true);
  std::string all;
  for (int i = 0; i < 5; ++i) {
    all += ReadString(f, "stream_long", 2, 700, &ret);
    note("long ret", ret, true);
  }
  note("long bytes", static_cast<int64_t>(all.size()), true);
  answers("stream_fill", 2, true);
  int64_t total = 0;
  for (;;) {
    std::vector<char> big(1 << 16);
    const int r = f.read("stream_fill", 1, big.data(), 1 << 16);
    if (r <= 0) {
      note("fill end", r, false);
      break;
    }
    total += r;
  }
  note("fill bytes", total, true);
  // Emptied: the capacity is back.
  answers("stream_fill", 2, true);
  return seen;
}

// What bpfemu gives (kernel/bpf/stream.c with allocations that succeed),
// for the steps the host cannot show.
const std::vector<std::string>& Pinned() {
  static const std::vector<std::string> v = {"stream_print.r0=0",
                                             "stream_print.r1=0",
                                             "stream_print.r2=0",
                                             "stdout[5]=hello",
                                             "ret=5",
                                             "stdout[100]= 42 abc\nplain\n",
                                             "ret=14",
                                             "stdout[100]=",
                                             "ret=0",
                                             "null buf=-14",
                                             "zero len=0",
                                             "stderr[100]=err 64\n",
                                             "ret=7",
                                             "id 0=-2",
                                             "id 3=-2",
                                             "stream_errors.r0=-2",
                                             "stream_errors.r1=-2",
                                             "stream_errors.r2=-22",
                                             "stream_errors.r3=-22",
                                             "stream_errors.r4=-22",
                                             "stream_errors.r5=-22",
                                             "stream_errors.r6=-2",
                                             "stdout[100]=",
                                             "stream_long.r0=0",
                                             "stream_long.r1=0",
                                             "stream_long.r2=-12",
                                             "stream_long.r3=-12",
                                             "long ret=700",
                                             "long ret=700",
                                             "long ret=623",
                                             "long ret=0",
                                             "long ret=0",
                                             "long bytes=2023",
                                             "stream_fill.r0=999",
                                             "stream_fill.r1=-28",
                                             "fill end=0",
                                             "fill bytes=99900",
                                             "stream_fill.r0=999",
                                             "stream_fill.r1=-28"};
  return v;
}

class StreamCompareTest : public KernelTest<> {};

TEST_F(StreamCompareTest, SameStreamsAsTheKernel) {
  const std::string path = "tests/examples/stream.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  KernelBackend& k = KernelBackend::Get();
  const std::vector<uint8_t> packet = Ipv4Frame(1, 2, 3, 4, 17, 64);
  const uint32_t zero = 0;
  Face kf;
  kf.run = [&](const std::string& prog) {
    Answers none;
    for (int64_t& v : none.r) v = kUnset;
    EXPECT_EQ(k.Update(kernel->MapFd("out"), &zero, &none, BPF_ANY), 0);
    const KernelObject::Result r =
        KernelObject::RunPacket(kernel->ProgFd(prog), packet);
    EXPECT_EQ(r.err, 0);
    Answers a{};
    EXPECT_EQ(k.Lookup(kernel->MapFd("out"), &zero, &a, 0), 0);
    return a;
  };
  kf.read = [&](const std::string& prog, uint32_t id, void* buf, uint32_t len) {
    return KernelStreamRead(kernel->ProgFd(prog), id, buf, len);
  };
  const std::vector<Step> want = Scenario(kf);
  // The host's first print tells whether its allocations succeed.
  const bool host_prints = want[0].text == "stream_print.r0=0";
  if (!host_prints) {
    std::printf(
        "the kernel's prints fail (%s: kmalloc_nolock() refuses); its "
        "allocation-dependent steps are not compared, bpfemu's are checked "
        "against the pinned ones\n",
        want[0].text.c_str());
  }
  for (bool bytecode : {false, true}) {
    SCOPED_TRACE(bytecode ? "bytecode" : "native");
    auto obj = bytecode ? native::Object::OpenBytecode(path)
                        : native::Object::Open("stream");
    ASSERT_TRUE(obj.ok()) << obj.status();
    ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
    Face ef;
    ef.run = [&](const std::string& prog) {
      Answers none;
      for (int64_t& v : none.r) v = kUnset;
      EXPECT_EQ(MapUpdateElem((*obj)->MapFd("out"), &zero, &none, BPF_ANY), 0);
      const native::Program* p = (*obj)->FindProgram(prog);
      EXPECT_NE(p, nullptr);
      interp::ClearFault();
      const native::PacketResult r = p->RunSkb(packet);
      EXPECT_EQ(r.err, 0);
      EXPECT_EQ(interp::LastFault(), "");
      Answers a{};
      EXPECT_EQ(MapLookupElem((*obj)->MapFd("out"), &zero, &a), 0);
      return a;
    };
    ef.read = [&](const std::string& prog, uint32_t id, void* buf,
                  uint32_t len) {
      return ProgStreamReadByFd((*obj)->FindProgram(prog)->fd(), id, buf, len);
    };
    const std::vector<Step> got = Scenario(ef);
    ASSERT_EQ(got.size(), want.size());
    ASSERT_EQ(got.size(), Pinned().size());
    int compared = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].text, Pinned()[i]) << "step " << i;
      if (!host_prints && want[i].alloc) continue;
      EXPECT_EQ(got[i].text, want[i].text) << "step " << i;
      ++compared;
    }
    std::printf("streams (%s): %d of %zu steps compared with the kernel\n",
                bytecode ? "bytecode" : "native", compared, want.size());
  }
}

TEST_F(StreamCompareTest, TheCommandsErrnos) {
  const std::string path = "tests/examples/stream.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  auto obj = native::Object::OpenBytecode(path);
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();
  char b[8];
  const int kprog = kernel->ProgFd("stream_print");
  const int eprog = (*obj)->FindProgram("stream_print")->fd();
  // Not open, not a program, a set byte past prog_fd.
  EXPECT_EQ(KernelStreamRead(999999, 1, b, 8), -EBADF);
  EXPECT_EQ(ProgStreamReadByFd(999999, 1, b, 8), -EBADF);
  EXPECT_EQ(KernelStreamRead(kernel->MapFd("out"), 1, b, 8), -EINVAL);
  EXPECT_EQ(ProgStreamReadByFd((*obj)->MapFd("out"), 1, b, 8), -EINVAL);
  EXPECT_EQ(KernelStreamRead(kprog, 1, b, 8, 1), -EINVAL);
  // A fresh program's streams are empty; a bad id is still ENOENT.
  EXPECT_EQ(KernelStreamRead(kprog, 1, b, 8), 0);
  EXPECT_EQ(ProgStreamReadByFd(eprog, 1, b, 8), 0);
  EXPECT_EQ(KernelStreamRead(kprog, 5, b, 8), -ENOENT);
  EXPECT_EQ(ProgStreamReadByFd(eprog, 5, b, 8), -ENOENT);
}

}  // namespace
}  // namespace bpfemu::examples

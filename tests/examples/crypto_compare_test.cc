// SPDX-License-Identifier: Apache-2.0
// tests/examples/crypto.bpf.c (kfy48) on the kernel (BPF_PROG_TEST_RUN of
// its syscall, tc and XDP programs) and on bpfemu, natively and as
// bytecode: bpf_crypto_ctx_create's error for every kind of bad parameter
// (size, reserved bytes, type, algorithm, authsize, key length) and which
// algorithms it takes; acquiring and releasing the stashed context; and
// bpf_crypto_encrypt / _decrypt with ecb(aes) and cbc(aes) over a map
// value, the packet and null dynptrs: the same return values, the same
// bytes written (ciphertext byte for byte, partial blocks, overlapping
// source and destination, the IV the call leaves in siv).

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "emu/syscall.h"
#include "gtest/gtest.h"
#include "loader/object.h"
#include "testing/kernel_backend.h"
#include "testing/kernel_object.h"
#include "testing/kernel_test.h"

namespace bpfemu::examples {
namespace {

// kernel/bpf/crypto.c struct bpf_crypto_params.
struct Params {
  char type[14];
  uint8_t reserved[2];
  char algo[128];
  uint8_t key[256];
  uint32_t key_len;
  uint32_t authsize;
};
static_assert(sizeof(Params) == 408);

struct CryptCase {
  uint32_t slot, decrypt;
  uint32_t src_kind, src_start, src_end;
  uint32_t dst_kind, dst_start, dst_end;
  uint32_t siv_kind, siv_start, siv_end;
};

constexpr uint32_t kBuf = 0, kPacket = 1, kNull = 2, kNone = 3;
constexpr size_t kBufLen = 256, kPbufLen = 512;

// One face: the runs and the map accesses the steps need.
struct Side {
  // The syscall programs: `ctx` in, out[0..1] back.
  std::function<bool(const char* prog, void* ctx, uint32_t size,
                     int64_t out[2])>
      run_syscall;
  std::function<int(const char* map, uint32_t key, const void* value)> update;
  std::function<int(const char* map, uint32_t key, void* value)> lookup;
  // A packet program's run: err, retval, data_out.
  std::function<void(bool xdp, const std::vector<uint8_t>& packet, int* err,
                     uint32_t* retval, std::vector<uint8_t>* data_out)>
      run_packet;
};

std::string Hex(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i)
    absl::StrAppend(&s, absl::Hex(p[i], absl::kZeroPad2));
  return s;
}

Params MakeParams(const char* type, const char* algo, uint32_t key_len) {
  Params p{};
  std::strncpy(p.type, type, sizeof(p.type));
  std::strncpy(p.algo, algo, sizeof(p.algo));
  for (size_t i = 0; i < sizeof(p.key); ++i) {
    p.key[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  p.key_len = key_len;
  return p;
}

std::vector<uint8_t> Frame() {
  std::vector<uint8_t> f(128, 0);
  std::memset(f.data(), 0x02, 6);
  std::memset(f.data() + 6, 0x04, 6);
  f[12] = ETH_P_IP >> 8;
  f[13] = ETH_P_IP & 0xff;
  for (size_t i = ETH_HLEN; i < f.size(); ++i) {
    f[i] = static_cast<uint8_t>(i * 29 + 3);
  }
  return f;
}

std::string Transcript(Side& s) {
  std::string out;
  // bpf_crypto_ctx_create into `slot`, then an acquire of what the slot
  // holds.
  auto create = [&](const std::string& what, uint32_t slot, const Params& p,
                    uint32_t size = sizeof(Params)) {
    uint8_t pb[kPbufLen] = {};
    std::memcpy(pb, &p, sizeof(p));
    // Bytes past the struct, which a size above 408 would cover.
    for (size_t i = sizeof(p); i < kPbufLen; ++i) pb[i] = 0x5a;
    int64_t res[2] = {-999, -999};
    absl::StrAppend(&out, "create ", what, ":");
    if (s.update("pbuf", 0, pb) != 0) {
      absl::StrAppend(&out, " pbuf update failed\n");
      return;
    }
    uint32_t args[2] = {slot, size};
    if (!s.run_syscall("create", args, sizeof(args), res)) {
      absl::StrAppend(&out, " run failed\n");
      return;
    }
    absl::StrAppend(&out, " err ", res[0], " ctx ", res[1]);
    uint32_t op[2] = {slot, 1};
    int64_t acq[2] = {-999, -999};
    if (s.run_syscall("slot_op", op, sizeof(op), acq)) {
      absl::StrAppend(&out, " | acquire ", acq[0]);
    }
    absl::StrAppend(&out, "\n");
  };
  auto slot_op = [&](const std::string& what, uint32_t slot, uint32_t op) {
    uint32_t a[2] = {slot, op};
    int64_t res[2] = {-999, -999};
    absl::StrAppend(&out, what, ":");
    if (!s.run_syscall("slot_op", a, sizeof(a), res)) {
      absl::StrAppend(&out, " run failed\n");
      return;
    }
    absl::StrAppend(&out, " ", res[0], "\n");
  };

  create("ecb(aes) 16", 0, MakeParams("skcipher", "ecb(aes)", 16));
  create("ecb(aes) 24", 0, MakeParams("skcipher", "ecb(aes)", 24));
  create("ecb(aes) 32", 0, MakeParams("skcipher", "ecb(aes)", 32));
  create("cbc(aes) 16", 0, MakeParams("skcipher", "cbc(aes)", 16));
  for (uint32_t len : {0u, 1u, 15u, 17u, 31u, 33u, 256u, 257u, 4096u}) {
    create(absl::StrCat("ecb(aes) key_len ", len), 0,
           MakeParams("skcipher", "ecb(aes)", len));
  }
  for (const char* algo :
       {"ctr(aes)", "gcm(aes)", "xts(aes)", "aes", "ecb(des)", "", "ECB(AES)",
        "ecb(aes-generic)", "ecb(aes-fixed-time)", "cbc(aes-generic)",
        "cbc(ecb(aes-fixed-time))", "ecb(cipher_null)", "cbc(cipher_null)",
        "cipher_null", "ecb(aes) "}) {
    create(absl::StrCat("algo '", algo, "'"), 0,
           MakeParams("skcipher", algo, 16));
  }
  for (const char* type : {"aead", "", "SKCIPHER", "skcipherskciph"}) {
    create(absl::StrCat("type '", type, "'"), 0,
           MakeParams(type, "ecb(aes)", 16));
  }
  {
    Params p = MakeParams("skcipher", "ecb(aes)", 16);
    p.authsize = 16;
    create("authsize 16", 0, p);
    p = MakeParams("skcipher", "nope(aes)", 0);
    p.authsize = 4;
    create("unknown algo, authsize 4, key_len 0", 0, p);
    p = MakeParams("skcipher", "ecb(aes)", 0);
    p.authsize = 4;
    create("authsize 4, key_len 0", 0, p);
    p = MakeParams("skcipher", "ecb(aes)", 16);
    p.reserved[0] = 1;
    create("reserved[0]", 0, p);
    p = MakeParams("skcipher", "ecb(aes)", 16);
    p.reserved[1] = 0x80;
    create("reserved[1]", 0, p);
    p = MakeParams("nope", "ecb(aes)", 16);
    p.reserved[1] = 1;
    create("reserved[1], unknown type", 0, p);
    p = MakeParams("skcipher", "ecb(aes)", 16);
    create("size 407", 0, p, 407);
    create("size 409", 0, p, 409);
    create("size 1", 0, p, 1);
    // A 14-character type runs into the reserved bytes (zero) as its NUL.
    p = MakeParams("skcipher", "ecb(aes)", 16);
    std::memcpy(p.type, "skcipher\0\0\0\0\0x", 14);
    create("type 'skcipher' with a byte after its NUL", 0, p);
    // An algorithm name of 128 characters, no NUL (the key follows).
    p = MakeParams("skcipher", "", 16);
    std::memset(p.algo, 'a', sizeof(p.algo));
    create("algo 128 x 'a'", 0, p);
  }
  slot_op("acquire empty slot 1", 1, 1);
  slot_op("take empty slot 1", 1, 2);

  // The contexts the crypt cases use: slot 0 ecb(aes) with a 16-byte key,
  // slot 1 cbc(aes) with a 32-byte key.
  create("slot 0: ecb(aes) 16", 0, MakeParams("skcipher", "ecb(aes)", 16));
  create("slot 1: cbc(aes) 32", 1, MakeParams("skcipher", "cbc(aes)", 32));

  const std::vector<uint8_t> frame = Frame();
  auto crypt = [&](const std::string& what, const CryptCase& c) {
    uint8_t b[kBufLen];
    for (size_t i = 0; i < kBufLen; ++i)
      b[i] = static_cast<uint8_t>(i * 13 + 5);
    for (bool xdp : {false, true}) {
      const int64_t none[2] = {-999, -999};
      absl::StrAppend(&out, xdp ? "xdp " : "tc ", what, ":");
      if (s.update("cases", 0, &c) != 0 || s.update("buf", 0, b) != 0 ||
          s.update("out", 0, none) != 0) {
        absl::StrAppend(&out, " update failed\n");
        continue;
      }
      int err = 0;
      uint32_t retval = 0;
      std::vector<uint8_t> data_out;
      s.run_packet(xdp, frame, &err, &retval, &data_out);
      int64_t res[2] = {};
      uint8_t after[kBufLen] = {};
      s.lookup("out", 0, res);
      s.lookup("buf", 0, after);
      absl::StrAppend(&out, " run ", err, " retval ", retval, " ret ", res[0],
                      "\n  buf ", Hex(after, kBufLen), "\n  packet ",
                      Hex(data_out.data(), data_out.size()), "\n");
    }
  };
  auto cc = [](uint32_t slot, uint32_t decrypt, uint32_t sk, uint32_t ss,
               uint32_t se, uint32_t dk, uint32_t ds, uint32_t de,
               uint32_t vk = kNone, uint32_t vs = 0, uint32_t ve = 0) {
    return CryptCase{slot, decrypt, sk, ss, se, dk, ds, de, vk, vs, ve};
  };
  crypt("ecb enc 16", cc(0, 0, kBuf, 0, 16, kBuf, 64, 80));
  crypt("ecb enc 48", cc(0, 0, kBuf, 0, 48, kBuf, 64, 112));
  crypt("ecb dec 32", cc(0, 1, kBuf, 0, 32, kBuf, 64, 96));
  crypt("ecb enc 20 (partial block)", cc(0, 0, kBuf, 0, 20, kBuf, 64, 84));
  crypt("ecb dec 40 (partial block)", cc(0, 1, kBuf, 0, 40, kBuf, 64, 104));
  crypt("ecb enc 8", cc(0, 0, kBuf, 0, 8, kBuf, 64, 72));
  crypt("ecb src longer than dst", cc(0, 0, kBuf, 0, 32, kBuf, 64, 80));
  crypt("ecb dst longer than src", cc(0, 0, kBuf, 0, 32, kBuf, 64, 112));
  crypt("ecb whole buffer in place", cc(0, 0, kBuf, 0, 0, kBuf, 0, 0));
  crypt("ecb siv 16", cc(0, 0, kBuf, 0, 16, kBuf, 64, 80, kBuf, 200, 216));
  crypt("ecb null siv", cc(0, 0, kBuf, 0, 16, kBuf, 64, 80, kNull));
  crypt("ecb null src", cc(0, 0, kNull, 0, 0, kBuf, 64, 80));
  crypt("ecb null dst", cc(0, 0, kBuf, 0, 16, kNull, 0, 0));
  crypt("ecb in place 32", cc(0, 0, kBuf, 0, 32, kBuf, 0, 32));
  crypt("ecb overlap dst after src", cc(0, 0, kBuf, 0, 48, kBuf, 16, 64));
  crypt("ecb overlap dst before src", cc(0, 1, kBuf, 16, 64, kBuf, 0, 48));
  crypt("ecb overlap by 8", cc(0, 0, kBuf, 0, 32, kBuf, 8, 40));
  crypt("cbc no siv", cc(1, 0, kBuf, 0, 32, kBuf, 64, 96));
  crypt("cbc enc 48", cc(1, 0, kBuf, 0, 48, kBuf, 64, 112, kBuf, 200, 216));
  crypt("cbc dec 48", cc(1, 1, kBuf, 0, 48, kBuf, 64, 112, kBuf, 200, 216));
  crypt("cbc siv 15", cc(1, 0, kBuf, 0, 32, kBuf, 64, 96, kBuf, 200, 215));
  crypt("cbc siv 32", cc(1, 0, kBuf, 0, 32, kBuf, 64, 96, kBuf, 200, 232));
  crypt("cbc null siv", cc(1, 0, kBuf, 0, 32, kBuf, 64, 96, kNull));
  crypt("cbc enc 24 (partial)",
        cc(1, 0, kBuf, 0, 24, kBuf, 64, 96, kBuf, 200, 216));
  crypt("cbc dec 40 (partial)",
        cc(1, 1, kBuf, 0, 40, kBuf, 64, 112, kBuf, 200, 216));
  crypt("cbc enc 8", cc(1, 0, kBuf, 0, 8, kBuf, 64, 96, kBuf, 200, 216));
  crypt("cbc enc in place", cc(1, 0, kBuf, 0, 64, kBuf, 0, 64, kBuf, 200, 216));
  crypt("cbc dec in place", cc(1, 1, kBuf, 0, 64, kBuf, 0, 64, kBuf, 200, 216));
  crypt("cbc dec in place (partial)",
        cc(1, 1, kBuf, 0, 56, kBuf, 0, 56, kBuf, 200, 216));
  crypt("cbc enc overlap", cc(1, 0, kBuf, 0, 64, kBuf, 16, 80, kBuf, 200, 216));
  crypt("cbc dec overlap", cc(1, 1, kBuf, 0, 64, kBuf, 16, 80, kBuf, 200, 216));
  crypt("cbc dec overlap back",
        cc(1, 1, kBuf, 16, 80, kBuf, 0, 64, kBuf, 200, 216));
  crypt("cbc siv inside src", cc(1, 0, kBuf, 0, 32, kBuf, 64, 96, kBuf, 8, 24));
  crypt("cbc siv is dst", cc(1, 1, kBuf, 0, 16, kBuf, 64, 80, kBuf, 64, 80));
  crypt("packet src", cc(0, 0, kPacket, 14, 46, kBuf, 0, 32));
  crypt("packet dst", cc(0, 0, kBuf, 0, 32, kPacket, 14, 46));
  crypt("packet in place",
        cc(1, 1, kPacket, 14, 78, kPacket, 14, 78, kBuf, 200, 216));
  crypt("whole packet", cc(0, 0, kPacket, 0, 0, kBuf, 0, 0));
  crypt("packet after the Ethernet header (partial)",
        cc(1, 0, kPacket, 14, 128, kBuf, 0, 128, kBuf, 200, 216));
  crypt("packet siv", cc(1, 0, kBuf, 0, 32, kBuf, 64, 96, kPacket, 20, 36));
  slot_op("acquire slot 1", 1, 1);
  slot_op("take slot 1", 1, 2);
  slot_op("take slot 1 again", 1, 2);
  crypt("empty slot", cc(1, 0, kBuf, 0, 16, kBuf, 64, 80));
  // Userspace replacing the element frees the context (bpf_obj_free_fields).
  const uint64_t zero_val = 0;
  absl::StrAppend(&out, "update ctxs[0] = ", s.update("ctxs", 0, &zero_val),
                  "\n");
  slot_op("acquire slot 0 after update", 0, 1);
  crypt("slot 0 after update", cc(0, 0, kBuf, 0, 16, kBuf, 64, 80));
  return out;
}

class CryptoCompareTest : public KernelTest<::testing::TestWithParam<bool>> {};

TEST_P(CryptoCompareTest, SameAsTheKernel) {
  const std::string path = "tests/examples/crypto.bpf.o";
  std::unique_ptr<KernelObject> kernel;
  ASSERT_EQ(KernelObject::Load(path, &kernel), 0);
  KernelBackend& k = KernelBackend::Get();
  Side ks;
  ks.run_syscall = [&](const char* prog, void* ctx, uint32_t size,
                       int64_t res[2]) {
    const KernelObject::Result r =
        KernelObject::RunSyscall(kernel->ProgFd(prog), ctx, size);
    const uint32_t zero = 0;
    return r.err == 0 && r.retval == 0 &&
           k.Lookup(kernel->MapFd("out"), &zero, res, 0) == 0;
  };
  ks.update = [&](const char* map, uint32_t key, const void* v) {
    return k.Update(kernel->MapFd(map), &key, v, 0);
  };
  ks.lookup = [&](const char* map, uint32_t key, void* v) {
    return k.Lookup(kernel->MapFd(map), &key, v, 0);
  };
  ks.run_packet = [&](bool xdp, const std::vector<uint8_t>& packet, int* err,
                      uint32_t* retval, std::vector<uint8_t>* data_out) {
    const KernelObject::Result r = KernelObject::RunPacket(
        kernel->ProgFd(xdp ? "crypt_xdp" : "crypt_tc"), packet);
    *err = r.err;
    *retval = r.retval;
    *data_out = r.data_out;
  };

  const std::string kl = Transcript(ks);
  std::printf("crypto (kernel):\n%s", kl.c_str());

  auto obj = GetParam() ? native::Object::OpenBytecode(path)
                        : native::Object::Open("crypto");
  ASSERT_TRUE(obj.ok()) << obj.status();
  ASSERT_EQ((*obj)->Load(), 0) << (*obj)->load_error();  // NOLINT
  native::Object& o = **obj;
  Side es;
  es.run_syscall = [&](const char* prog, void* ctx, uint32_t, int64_t res[2]) {
    const native::Program* p = o.FindProgram(prog);
    const uint32_t zero = 0;
    return p != nullptr && p->Run(ctx) == 0 &&
           MapLookupElem(o.MapFd("out"), &zero, res) == 0;
  };
  es.update = [&](const char* map, uint32_t key, const void* v) {
    return MapUpdateElem(o.MapFd(map), &key, v, 0);
  };
  es.lookup = [&](const char* map, uint32_t key, void* v) {
    return MapLookupElem(o.MapFd(map), &key, v);
  };
  es.run_packet = [&](bool xdp, const std::vector<uint8_t>& packet, int* err,
                      uint32_t* retval, std::vector<uint8_t>* data_out) {
    const native::Program* p = o.FindProgram(xdp ? "crypt_xdp" : "crypt_tc");
    const native::PacketResult r = xdp ? p->RunXdp(packet) : p->RunSkb(packet);
    *err = r.err;
    *retval = r.retval;
    *data_out = r.data_out;
  };

  const std::string el = Transcript(es);
  // Line by line, so that a difference names its step.
  const std::vector<std::string> klines = absl::StrSplit(kl, '\n');
  const std::vector<std::string> elines = absl::StrSplit(el, '\n');
  ASSERT_EQ(elines.size(), klines.size()) << el << interp::LastFault();
  int differences = 0;
  for (size_t i = 0; i < klines.size(); ++i) {
    if (elines[i] != klines[i]) {
      ++differences;
      ADD_FAILURE() << "line " << i << " (after '"
                    << (i > 0 ? klines[i - 1].substr(0, 60) : "") << "')\n"
                    << "kernel: " << klines[i] << "\nbpfemu: " << elines[i];
    }
  }
  EXPECT_EQ(differences, 0) << interp::LastFault();
  std::printf("%zu lines compared, %d different\n", klines.size(), differences);
}

INSTANTIATE_TEST_SUITE_P(Faces, CryptoCompareTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Bytecode" : "Native";
                         });

}  // namespace
}  // namespace bpfemu::examples

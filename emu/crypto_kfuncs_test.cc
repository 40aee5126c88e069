// SPDX-License-Identifier: Apache-2.0
// kfy48's crypto kfuncs without the kernel (emu/crypto_kfuncs.h): the
// published AES answers (FIPS-197 appendix C, NIST SP 800-38A F.2.1/F.2.2),
// bpf_crypto_ctx_create's checks in the kernel's order, the references a
// context counts, what bpf_crypto_crypt refuses (a read-only dst, which no
// program type offered the kfuncs can make), the load refusals of
// kernel/bpf/crypto.c's registrations and the interpreter's stops on
// pointers the verifier refuses. Against the kernel:
// tests/examples/crypto_compare_test.cc.

#include "emu/crypto_kfuncs.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "emu/graph_obj.h"
#include "emu/interp.h"
#include "emu/interp_asm.h"
#include "emu/kernel_btf.h"
#include "emu/kfunc.h"
#include "emu/kfunc_testing.h"
#include "gtest/gtest.h"

namespace bpfemu::cryptok {
namespace {

using interp::RawInsn;
namespace a = interp::asm_;
using Insns = std::vector<RawInsn>;

std::vector<uint8_t> Bytes(const char* hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; hex[i] != 0 && hex[i + 1] != 0; i += 2) {
    out.push_back(
        static_cast<uint8_t>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  }
  return out;
}

// struct bpf_dynptr_kern of a local dynptr over [p, p + size).
struct Dynptr {
  void* data;
  uint32_t size;
  uint32_t offset;
};
Dynptr Local(void* p, uint32_t size, bool rdonly = false) {
  return Dynptr{p, size | (1u << 28) | (rdonly ? 1u << 31 : 0u), 0};
}

Params MakeParams(const char* algo, const std::vector<uint8_t>& key) {
  Params p{};
  std::strncpy(p.type, "skcipher", sizeof(p.type));
  std::strncpy(p.algo, algo, sizeof(p.algo));
  std::memcpy(p.key, key.data(), key.size());
  p.key_len = static_cast<uint32_t>(key.size());
  return p;
}

void* Create(const Params& p, int* err) {
  return CtxCreate(&p, sizeof(p), err);
}

TEST(CryptoKfuncsTest, EcbKnownAnswers) {
  const std::vector<uint8_t> pt = Bytes("00112233445566778899aabbccddeeff");
  const struct {
    const char* key;
    const char* ct;
  } kCases[] = {
      {"000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"},
      {"000102030405060708090a0b0c0d0e0f1011121314151617",
       "dda97ca4864cdfe06eaf70a0ec0d7191"},
      {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
       "8ea2b7ca516745bfeafc49904b496089"},
  };
  for (const auto& c : kCases) {
    int err = 1;
    void* ctx = Create(MakeParams("ecb(aes)", Bytes(c.key)), &err);
    ASSERT_NE(ctx, nullptr);
    EXPECT_EQ(err, 0);
    uint8_t in[16], out[16], back[16];
    std::memcpy(in, pt.data(), 16);
    Dynptr src = Local(in, 16), dst = Local(out, 16), rt = Local(back, 16);
    ASSERT_EQ(Crypt(ctx, &src, &dst, nullptr, false), 0);
    EXPECT_EQ(std::vector<uint8_t>(out, out + 16), Bytes(c.ct)) << c.key;
    ASSERT_EQ(Crypt(ctx, &dst, &rt, nullptr, true), 0);
    EXPECT_EQ(std::vector<uint8_t>(back, back + 16), pt);
    EXPECT_EQ(CtxRelease(ctx), 0);
  }
}

TEST(CryptoKfuncsTest, CbcKnownAnswersAndTheIvLeft) {
  int err = 1;
  void* ctx = Create(
      MakeParams("cbc(aes)", Bytes("2b7e151628aed2a6abf7158809cf4f3c")), &err);
  ASSERT_NE(ctx, nullptr);
  const std::vector<uint8_t> pt =
      Bytes("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
  const std::vector<uint8_t> ct =
      Bytes("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2");
  const std::vector<uint8_t> iv0 = Bytes("000102030405060708090a0b0c0d0e0f");
  uint8_t in[32], out[32], iv[16];
  std::memcpy(in, pt.data(), 32);
  std::memcpy(iv, iv0.data(), 16);
  Dynptr src = Local(in, 32), dst = Local(out, 32), siv = Local(iv, 16);
  // cbc needs its 16-byte IV: none, or another size, is -EINVAL.
  EXPECT_EQ(Crypt(ctx, &src, &dst, nullptr, false), -EINVAL);
  Dynptr short_iv = Local(iv, 15);
  EXPECT_EQ(Crypt(ctx, &src, &dst, &short_iv, false), -EINVAL);
  ASSERT_EQ(Crypt(ctx, &src, &dst, &siv, false), 0);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 32), ct);
  // The IV left is the last ciphertext block, ready for the next call.
  EXPECT_EQ(std::vector<uint8_t>(iv, iv + 16),
            std::vector<uint8_t>(ct.begin() + 16, ct.end()));
  // In place, back again.
  std::memcpy(iv, iv0.data(), 16);
  Dynptr inplace = Local(out, 32);
  ASSERT_EQ(Crypt(ctx, &inplace, &inplace, &siv, true), 0);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 32), pt);
  EXPECT_EQ(CtxRelease(ctx), 0);
}

TEST(CryptoKfuncsTest, CreateChecksInTheKernelsOrder) {
  const std::vector<uint8_t> key16(16, 7);
  int err = 0;
  Params p = MakeParams("ecb(aes)", key16);
  EXPECT_EQ(CtxCreate(&p, sizeof(p) - 1, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  EXPECT_EQ(CtxCreate(nullptr, sizeof(p), &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  // Reserved bytes before the type's name.
  p = MakeParams("ecb(aes)", key16);
  std::memcpy(p.type, "aead", 5);
  p.reserved[1] = 1;
  EXPECT_EQ(Create(p, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  // The type before the algorithm.
  p = MakeParams("nope", key16);
  std::memcpy(p.type, "aead", 5);
  EXPECT_EQ(Create(p, &err), nullptr);
  EXPECT_EQ(err, -ENOENT);
  // The algorithm and the authsize before the key length.
  p = MakeParams("gcm(aes)", {});
  EXPECT_EQ(Create(p, &err), nullptr);
  EXPECT_EQ(err, -EOPNOTSUPP);
  p = MakeParams("ecb(aes)", {});
  p.authsize = 16;
  EXPECT_EQ(Create(p, &err), nullptr);
  EXPECT_EQ(err, -EOPNOTSUPP);
  p = MakeParams("ecb(aes)", {});
  EXPECT_EQ(Create(p, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  p = MakeParams("ecb(aes)", key16);
  p.key_len = 257;
  EXPECT_EQ(Create(p, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  // Found, but no lskcipher (ctr, xts) or no key that fits (cipher_null).
  for (const char* algo : {"ctr(aes)", "xts(aes)", "ecb(cipher_null)"}) {
    EXPECT_EQ(Create(MakeParams(algo, key16), &err), nullptr) << algo;
    EXPECT_EQ(err, -EINVAL) << algo;
  }
  EXPECT_EQ(Create(MakeParams("ecb(aes)", std::vector<uint8_t>(20, 1)), &err),
            nullptr);
  EXPECT_EQ(err, -EINVAL);
  // Driver names.
  for (const char* algo : {"ecb(aes-generic)", "cbc(ecb(aes-fixed-time))"}) {
    void* c = Create(MakeParams(algo, key16), &err);
    ASSERT_NE(c, nullptr) << algo;
    EXPECT_EQ(err, 0);
    EXPECT_EQ(CtxRelease(c), 0);
  }
}

TEST(CryptoKfuncsTest, ReferencesAndFreeing) {
  const uint64_t before = graph::LiveObjects();
  int err = 0;
  void* c = Create(MakeParams("ecb(aes)", std::vector<uint8_t>(32, 3)), &err);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(IsCtx(c));
  EXPECT_EQ(graph::LiveObjects(), before + 1);
  void* again = CtxAcquire(c);
  EXPECT_EQ(again, c);
  EXPECT_EQ(CtxRelease(c), 0);
  EXPECT_TRUE(IsCtx(c));  // the acquired reference keeps it
  EXPECT_EQ(CtxRelease(again), 0);
  EXPECT_EQ(graph::LiveObjects(), before);
  EXPECT_FALSE(IsCtx(c));
  EXPECT_EQ(CtxAcquire(c), nullptr);
  EXPECT_EQ(CtxRelease(c), -EINVAL);
  uint8_t stack[64] = {};
  EXPECT_FALSE(IsCtx(stack));
}

TEST(CryptoKfuncsTest, CryptRefusals) {
  int err = 0;
  void* c = Create(MakeParams("ecb(aes)", std::vector<uint8_t>(16, 9)), &err);
  ASSERT_NE(c, nullptr);
  uint8_t b[64] = {};
  Dynptr src = Local(b, 16), ro = Local(b + 16, 16, true);
  Dynptr empty = Local(b, 0), null_ptr{};
  EXPECT_EQ(Crypt(c, &src, &ro, nullptr, false), -EINVAL);
  EXPECT_EQ(Crypt(c, &empty, &src, nullptr, false), -EINVAL);
  EXPECT_EQ(Crypt(c, &null_ptr, &src, nullptr, false), -EINVAL);
  Dynptr big = Local(b, 32), small = Local(b + 32, 16);
  EXPECT_EQ(Crypt(c, &big, &small, nullptr, false), -EINVAL);
  // A null siv has size 0, which ecb's IV size is.
  Dynptr dst = Local(b + 32, 16);
  EXPECT_EQ(Crypt(c, &src, &dst, &null_ptr, false), 0);
  // A partial block: the whole blocks before it are written.
  uint8_t in[20], out[20];
  std::memset(in, 0x11, sizeof(in));
  std::memset(out, 0xee, sizeof(out));
  Dynptr s20 = Local(in, 20), d20 = Local(out, 20);
  EXPECT_EQ(Crypt(c, &s20, &d20, nullptr, false), -EINVAL);
  EXPECT_NE(out[0], 0xee);
  EXPECT_EQ(out[16], 0xee);
  EXPECT_EQ(CtxRelease(c), 0);
}

// A bytecode program can write the context (a graph object; the kernel's
// verifier refuses that): a context whose mode, key size or IV size is no
// longer one CtxCreate made is refused, never used (a CBC context told it
// has no IV would otherwise run the cipher on a NULL IV).
TEST(CryptoKfuncsTest, TamperedContextIsRefused) {
  int err = 0;
  void* c = Create(MakeParams("cbc(aes)", std::vector<uint8_t>(16, 9)), &err);
  ASSERT_NE(c, nullptr);
  uint8_t b[64] = {}, iv[16] = {};
  Dynptr src = Local(b, 16), dst = Local(b + 16, 16), siv = Local(iv, 16);
  Dynptr no_iv = Local(iv, 0);
  ASSERT_EQ(Crypt(c, &src, &dst, &siv, false), 0);
  // struct Ctx: magic (8 bytes), mode, key_len, siv_len (u32 each).
  auto* words = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(c) + 8);
  const uint32_t saved[3] = {words[0], words[1], words[2]};
  words[2] = 0;  // siv_len
  EXPECT_EQ(Crypt(c, &src, &dst, &no_iv, false), -EINVAL);
  EXPECT_EQ(Crypt(c, &src, &dst, nullptr, true), -EINVAL);
  words[2] = saved[2];
  words[1] = 7;  // key_len
  EXPECT_EQ(Crypt(c, &src, &dst, &siv, false), -EINVAL);
  words[1] = saved[1];
  words[0] = 9;  // mode
  EXPECT_EQ(Crypt(c, &src, &dst, &siv, false), -EINVAL);
  words[0] = saved[0];
  EXPECT_EQ(Crypt(c, &src, &dst, &siv, false), 0);
  EXPECT_EQ(CtxRelease(c), 0);
}

// The registrations: what the verifier answers at load.
TEST(CryptoKfuncsTest, LoadRefusals) {
  const char* const names[] = {"bpf_crypto_ctx_create", "bpf_crypto_encrypt"};
  auto btf = kfunctest::FuncBtf(std::vector<const char*>(names, names + 2));
  auto resolve = [&](int32_t imm, uint32_t type, bool sleepable,
                     std::string* log) {
    KfuncCall call;
    call.imm = imm;
    call.prog_type = type;
    call.gpl_compatible = true;
    call.sleepable = sleepable;
    const Kfunc* k = nullptr;
    return ResolveKfuncCall(btf.get(), call, &k, log);
  };
  std::string log;
  EXPECT_EQ(resolve(3, BPF_PROG_TYPE_SYSCALL, true, &log), 0) << log;
  EXPECT_EQ(resolve(3, BPF_PROG_TYPE_SYSCALL, false, &log), -EACCES);
  EXPECT_NE(log.find("program must be sleepable to call sleepable kfunc "
                     "bpf_crypto_ctx_create"),
            std::string::npos)
      << log;
  log.clear();
  EXPECT_EQ(resolve(3, BPF_PROG_TYPE_SCHED_CLS, false, &log), -EACCES);
  EXPECT_EQ(log,
            "calling kernel function bpf_crypto_ctx_create is not allowed\n");
  EXPECT_EQ(resolve(4, BPF_PROG_TYPE_SCHED_CLS, false, nullptr), 0);
  EXPECT_EQ(resolve(4, BPF_PROG_TYPE_SCHED_ACT, false, nullptr), 0);
  EXPECT_EQ(resolve(4, BPF_PROG_TYPE_XDP, false, nullptr), 0);
  EXPECT_EQ(resolve(4, BPF_PROG_TYPE_SYSCALL, true, nullptr), -EACCES);
  EXPECT_EQ(resolve(4, BPF_PROG_TYPE_CGROUP_SKB, false, nullptr), -EACCES);
}

const char* const kInterpNames[] = {"bpf_crypto_ctx_create",
                                    "bpf_crypto_ctx_acquire",
                                    "bpf_crypto_ctx_release"};
enum : int32_t { kCreate = 3, kAcquire, kRelease };

const KernelBtf* InterpBtf() {
  static const KernelBtf* btf =
      kfunctest::FuncBtf(std::vector<const char*>(std::begin(kInterpNames),
                                                  std::end(kInterpNames)))
          .release();
  return btf;
}

void ExpectStop(const Insns& p, const std::string& what) {
  bool faulted = false;
  kfunctest::RunSyscallProg(InterpBtf(), p, &faulted);
  EXPECT_TRUE(faulted) << what;
  EXPECT_NE(interp::LastFault().find(what), std::string::npos)
      << interp::LastFault();
}

TEST(CryptoKfuncsInterpTest, StopsOnPointersTheVerifierRefuses) {
  // A stack slot is no context.
  const Insns on_stack = {a::St(BPF_DW, 10, -8, 0), a::MovReg(1, 10),
                          a::AluImm(BPF_ADD, 1, -8)};
  Insns p = on_stack;
  p.push_back(a::CallKfunc(kAcquire));
  p.push_back(a::Exit());
  ExpectStop(p, "bpf_crypto_ctx_acquire: R1");
  p = on_stack;
  p.push_back(a::CallKfunc(kRelease));
  p.push_back(a::MovImm(0, 0));
  p.push_back(a::Exit());
  ExpectStop(p, "bpf_crypto_ctx_release: R1");
  // Params that are not 408 readable bytes; an err that is not writable.
  ExpectStop({a::St(BPF_DW, 10, -8, 0), a::MovReg(1, 10),
              a::AluImm(BPF_ADD, 1, -8), a::MovImm(2, 408), a::MovReg(3, 10),
              a::AluImm(BPF_ADD, 3, -8), a::CallKfunc(kCreate), a::Exit()},
             "bpf_crypto_ctx_create: R1");
  ExpectStop(
      {a::St(BPF_DW, 10, -8, 0), a::MovReg(1, 10), a::AluImm(BPF_ADD, 1, -8),
       a::MovImm(2, 8), a::MovImm(3, 0x1000), a::CallKfunc(kCreate), a::Exit()},
      "bpf_crypto_ctx_create: R3");
}

TEST(CryptoKfuncsInterpTest, CreateFromTheStackAnswersTheSizeError) {
  // 8 bytes of params: -EINVAL in err, NULL back.
  bool faulted = false;
  const int32_t ret = kfunctest::RunSyscallProg(
      InterpBtf(),
      {a::St(BPF_DW, 10, -8, 0), a::St(BPF_DW, 10, -16, 0), a::MovReg(1, 10),
       a::AluImm(BPF_ADD, 1, -8), a::MovImm(2, 8), a::MovReg(3, 10),
       a::AluImm(BPF_ADD, 3, -16), a::CallKfunc(kCreate),
       a::Ldx(BPF_W, 0, 10, -16), a::Exit()},
      &faulted);
  EXPECT_FALSE(faulted) << interp::LastFault();
  EXPECT_EQ(ret, -EINVAL);
}

}  // namespace
}  // namespace bpfemu::cryptok

// SPDX-License-Identifier: Apache-2.0
// File: exception_cb.h
//
// The exception callback of a program loaded with BTF: kernel/bpf/
// verifier.c bpf_find_exception_callback_insn_off (the main FUNC's
// "exception_callback:<name>" decl tag, btf_find_decl_tag_value in
// kernel/bpf/btf.c) and do_check_common's check of the callback's
// arguments, for BPF_PROG_LOAD of bytecode (loader/bytecode.cc) and so for
// bpf_throw (emu/throw_kfuncs.h).

#ifndef BPFEMU_LOADER_EXCEPTION_CB_H_
#define BPFEMU_LOADER_EXCEPTION_CB_H_

#include <cstdint>
#include <string>
#include <vector>

namespace bpfemu::native {

// Finds the exception callback in the program BTF `btf_raw` (empty: none)
// through the func_info records (8 bytes each: insn_off, type_id).
// *insn_off: its first instruction, 0 when the program has none. 0, or
// -errno with the verifier's line appended to *log (when not null):
//   main FUNC id not in the BTF       -EINVAL "invalid btf id for main
//                                             subprog in func_info"
//   two tags on the main FUNC          -EEXIST "multiple exception callback
//                                             tags for main subprog"
//   no FUNC of that name               -ENOENT "exception callback '%s'
//                                             could not be found in BTF"
//   not global                         -EINVAL "... must have global linkage"
//   its func_info record at insn 0     -EINVAL "invalid exception callback
//                                             insn_off in func_info: 0"
//   no func_info record for it         -EINVAL "exception callback type id
//                                             not found in func_info"
//   not one integer argument           -EINVAL "exception cb only supports
//                                             single integer argument"
int FindExceptionCallback(const std::vector<uint8_t>& btf_raw,
                          const std::vector<uint8_t>& func_info,
                          uint32_t nr_func_info, uint32_t* insn_off,
                          std::string* log);

}  // namespace bpfemu::native

#endif  // BPFEMU_LOADER_EXCEPTION_CB_H_

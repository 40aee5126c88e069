// SPDX-License-Identifier: Apache-2.0
#include "tests/conformance/emu_backend.h"

#include "emu/cpu.h"
#include "emu/syscall.h"

namespace bpfemu {

EmuBackend& EmuBackend::Get() {
  static auto* backend = new EmuBackend;
  return *backend;
}

int EmuBackend::NumPossibleCpus() { return bpfemu::NumPossibleCpus(); }

int EmuBackend::CreateMap(const MapAttr& attr) { return MapCreate(attr); }

int EmuBackend::Lookup(int fd, const void* key, void* value, uint64_t flags) {
  return MapLookupElem(fd, key, value, flags);
}

int EmuBackend::Update(int fd, const void* key, const void* value,
                       uint64_t flags) {
  return MapUpdateElem(fd, key, value, flags);
}

int EmuBackend::Delete(int fd, const void* key) {
  return MapDeleteElem(fd, key);
}

int EmuBackend::GetNextKey(int fd, const void* key, void* next_key) {
  return MapGetNextKey(fd, key, next_key);
}

int EmuBackend::LookupAndDelete(int fd, const void* key, void* value,
                                uint64_t flags) {
  return MapLookupAndDeleteElem(fd, key, value, flags);
}

int EmuBackend::Close(int fd) { return CloseFd(fd); }

}  // namespace bpfemu

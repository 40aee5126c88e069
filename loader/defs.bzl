# SPDX-License-Identifier: Apache-2.0
"""bpf_object(): one BPF C source, built for the kernel and natively."""

def bpf_object(name, src, hdrs = [], bpf_copts = [], bpf_compiler = "clang", testonly = False, visibility = None, native_build = True):
    """Builds `src` two ways.

    * `<name>.bpf.o`: `clang -O2 -g -target bpf` with the system's libbpf
      headers, loadable into the kernel (libbpf) - target `<name>_bpf`.
    * `<name>`: a cc_library holding the same source compiled by the host
      compiler against bpfemu's stand-in headers, registered as native object
      `<name>` (loader/object.h: Object::Open("<name>")).

    The native wrapper is generated from the BPF object by loader/gen_native,
    which reads it with the loader's own reader (loader/elf_object.h), so
    both builds always describe the same maps and programs, and the build
    and the run-time loader cannot read a definition differently.

    `bpf_compiler` names the clang that builds the BPF object. Sources with
    `__arena` pointers (address_space(1), addr_space_cast) need clang 18 or
    later: `bpf_compiler = "clang-19"` (tools/setup.sh installs it). Where
    that compiler is absent the object is an empty file and there is no
    native object: tests skip with that reason instead of failing the build.

    `native_build = False` builds only `<name>.bpf.o`: for sources the host
    compiler cannot take, such as CO-RE programs (bpf_core_read.h's
    __builtin_preserve_field_info / _type_info / _enum_value and
    preserve_access_index exist only for the BPF target). Such an object
    runs on bpfemu as bytecode only (Object::OpenBytecode).
    """
    obj = name + ".bpf.o"
    pkg = native.package_name()
    src_path = (pkg + "/" + src) if pkg else src
    compile = ("%s -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu " +
               "-I$$(dirname $(location %s)) %s -c $(location %s) -o $@") % (
        bpf_compiler,
        src,
        " ".join(bpf_copts),
        src,
    )
    if bpf_compiler == "clang":
        cmd = compile
    else:
        cmd = "if command -v %s >/dev/null 2>&1; then %s; else : > $@; fi" % (
            bpf_compiler,
            compile,
        )
    native.genrule(
        name = name + "_bpf",
        srcs = [src] + hdrs,
        outs = [obj],
        cmd = cmd,
        testonly = testonly,
        visibility = visibility,
    )
    if not native_build:
        return
    native.genrule(
        name = name + "_native_c",
        srcs = [":" + obj],
        outs = [name + ".native.c"],
        cmd = ("$(location //loader:gen_native) --object $(location :%s) " +
               "--source %s --name %s > $@") % (obj, src_path, name),
        tools = ["//loader:gen_native"],
        testonly = testonly,
    )
    native.cc_library(
        name = name,
        srcs = [name + ".native.c"],
        textual_hdrs = [src] + hdrs,
        copts = [
            "-Wno-unused-function",
            "-Wno-unused-parameter",
            "-Wno-int-conversion",
            "-Wno-pointer-to-int-cast",
            "-Wno-int-to-pointer-cast",
        ],
        deps = [
            "//native:arena_kfuncs",
            "//native:bpf_headers",
            "//native:helpers",
            "//native:registry",
        ],
        alwayslink = True,
        testonly = testonly,
        visibility = visibility,
    )

//! Compiles the XDP programs (bpf/vxswitch.bpf.c) with clang for the BPF
//! target; src/port/xdp_prog.rs embeds the object. libbpf-sys (a direct
//! dependency, `links = "bpf"`) exports its headers as DEP_BPF_INCLUDE.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "bpf/vxswitch.bpf.c";
    println!("cargo:rerun-if-changed={src}");
    let out =
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("vxswitch.bpf.o");
    let include = env::var("DEP_BPF_INCLUDE").expect("libbpf-sys exports its include directory");
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".into());
    let mut cmd = Command::new(&clang);
    cmd.args([
        "-O2",
        "-g",
        "-Wall",
        "-Werror",
        "-target",
        "bpf",
        "-D__TARGET_ARCH_x86",
    ])
    .arg(format!("-I{include}"))
    .arg("-c")
    .arg(src)
    .arg("-o")
    .arg(&out);
    // Debian keeps asm/types.h under the multiarch directory, which clang's
    // BPF target does not search by itself.
    if let Ok(t) = env::var("TARGET") {
        let arch = t.split('-').next().unwrap_or("x86_64");
        let multiarch = format!("/usr/include/{arch}-linux-gnu");
        if std::path::Path::new(&multiarch).exists() {
            cmd.arg(format!("-I{multiarch}"));
        }
    }
    let status = cmd.status().unwrap_or_else(|e| {
        panic!(
            "running {clang} to build the XDP programs: {e} (install clang: scripts/test.sh does)"
        )
    });
    assert!(status.success(), "{clang} failed to compile {src}");
}

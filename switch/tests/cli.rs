//! The vxswitch binary refuses bad start-up input with a message that names
//! the problem, and touches nothing (these run without root or namespaces).

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

fn vxswitch(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vxswitch"))
        .args(args)
        .output()
        .expect("running vxswitch");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    (out.status.success(), text)
}

/// A config file removed when dropped.
struct TempConfig(PathBuf);

impl TempConfig {
    fn new(text: &str) -> TempConfig {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("vxswitch-cli-{}-{n}.toml", std::process::id()));
        std::fs::write(&p, text).expect("writing a temporary config");
        TempConfig(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("temp paths are UTF-8")
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn invalid_core_refused() {
    let (ok, err) = vxswitch(&["--uplink", "lo", "--cores", "4095"]);
    assert!(!ok);
    assert!(err.contains("--cores: core 4095 is not available"), "{err}");
    let (ok, err) = vxswitch(&["--uplink", "lo", "--cores", "3-1"]);
    assert!(!ok);
    assert!(err.contains("range 3-1 runs backwards"), "{err}");
}

#[test]
fn missing_interface_refused() {
    let (ok, err) = vxswitch(&["--uplink", "nosuchif0", "--cores", "0"]);
    assert!(!ok);
    assert!(err.contains("interface nosuchif0 does not exist"), "{err}");
}

#[test]
fn missing_access_port_refused() {
    let cfg = TempConfig::new("[[vni]]\nid = 100\n[[port]]\nname = \"nosuchport\"\nvni = 100\n");
    let (ok, err) = vxswitch(&["--uplink", "lo", "--cores", "0", "--config", cfg.path()]);
    assert!(!ok);
    assert!(
        err.contains("access port nosuchport in the config: interface nosuchport does not exist"),
        "{err}"
    );
}

#[test]
fn config_errors_name_file_line_and_field() {
    let cfg = TempConfig::new(
        "[underlay]\nudp_port = 4789\n\n[[vni]]\nid = 100\nflood = [\"10.0.0.300\"]\n",
    );
    let (ok, err) = vxswitch(&["--uplink", "lo", "--cores", "0", "--config", cfg.path()]);
    assert!(!ok);
    let want = format!("{}:6: vni[0].flood[0]:", cfg.path());
    assert!(err.contains(&want), "expected {want:?} in {err}");
    assert!(err.contains("10.0.0.300"), "{err}");
}

#[test]
fn check_config_validates_every_example() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs");
    let mut seen = 0;
    for e in std::fs::read_dir(dir).expect("configs/ exists") {
        let p = e.expect("readable entry").path();
        if p.extension().is_some_and(|x| x == "toml") {
            let (ok, out) = vxswitch(&["--check-config", p.to_str().expect("UTF-8 path")]);
            assert!(ok, "{}: {out}", p.display());
            assert!(out.contains(": ok"), "{out}");
            seen += 1;
        }
    }
    assert!(seen >= 2, "configs/ holds the demo hosts' configs");
    let bad = TempConfig::new("[underlay]\nmtuu = 1500\n");
    let (ok, out) = vxswitch(&["--check-config", bad.path()]);
    assert!(!ok);
    assert!(out.contains(":2: underlay.mtuu: unknown field"), "{out}");
}

//! vxgen: the pieces shared by the two end-to-end bench tools in this crate,
//! `vxgen` (an AF_XDP traffic generator and sink in one thread) and `xdpfwd`
//! (a raw AF_XDP forwarder: the ceiling for any AF_XDP switch on a path).
//!
//! [`frames`] builds the test frames (inner Ethernet/IPv4/UDP, and VXLAN
//! around them) and reads the 16-byte tail that carries the magic and the
//! send time; [`xsk`] opens UMEMs and sockets through xsk-rs on top of
//! vxswitch's own redirect-all XDP program; [`clock`] reads the monotonic
//! clock, the TSC and the process's CPU time.
//!
//! Nothing here is on vxswitch's data path: the tools measure it from outside.

pub mod clock;
pub mod frames;
pub mod xsk;

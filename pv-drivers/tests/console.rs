//! The console frontend writing into the ring the console backend drains.

mod common;
use common::*;
use pv_drivers::console::Console;

#[test]
fn output_reaches_the_terminal_and_input_reaches_the_guest() {
    let (mut xen, mut mem) = boot();
    let c = Console::from_hvm_params(&mut xen).unwrap();
    c.write_all(&mut xen, &mut mem, b"hello from pv-drivers\n")
        .unwrap();
    assert_eq!(mem.console_output(), b"hello from pv-drivers\n");
    // More than the 2 KiB ring: the backend drains at every kick.
    let long: Vec<u8> = (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect();
    c.write_all(&mut xen, &mut mem, &long).unwrap();
    assert_eq!(&mem.console_output()[22..], &long[..]);
    xen.dom.console_input(b"typed\n");
    xen.poll();
    let mut buf = [0u8; 64];
    let n = c.read(&mut xen, &mut mem, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"typed\n");
    assert_eq!(c.read(&mut xen, &mut mem, &mut buf).unwrap(), 0);
}

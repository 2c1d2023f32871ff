use super::*;

fn parse(text: &str) -> Result<XlDomain, String> {
    from_text(text, Path::new("/cfg"))
}

fn disk(path: &str, read_only: bool) -> DiskImage {
    DiskImage {
        path: PathBuf::from(path),
        read_only,
    }
}

#[test]
fn an_hvm_domain_maps_onto_the_run_s_options() {
    let dom = parse(
        r#"
        type = "hvm"
        name = "demo"
        memory = 512
        vcpus = 1
        disk = [ "format=raw, vdev=xvdb, access=ro, target=data.img",
                 "/abs/root.img,raw,xvda,rw",
                 "linux.iso,,hdc,cdrom" ]
        boot = "dc"
        acpi = 1
        xen_platform_pci = 0
        on_poweroff = "destroy"
        on_reboot = "destroy"
        on_crash = "destroy"
        "#,
    )
    .unwrap();
    assert_eq!(
        dom,
        XlDomain {
            name: Some("demo".into()),
            mem_mib: Some(512),
            disks: vec![disk("/abs/root.img", false), disk("/cfg/data.img", true)],
            iso: Some(PathBuf::from("/cfg/linux.iso")),
            boot: Some("cd,disk".into()),
            xen: Some(false),
            acpi: Some(true),
            no_reboot: true,
            ignored: vec![],
            ..XlDomain::default()
        }
    );
}

#[test]
fn what_has_no_effect_here_is_named() {
    let dom = parse(
        "vcpus = 4\nvif = [ 'bridge=xenbr0' ]\nvnc = 1\nkernel = \"/boot/vmlinuz\"\n\
         boot = \"nc\"\non_crash = \"preserve\"\non_reboot = \"rename-restart\"\n\
         disk = [ 'a.img,,xvda,rw,discard' ]\n",
    )
    .unwrap();
    let ignored = dom.ignored.join("; ");
    for want in [
        "vcpus = 4 (one vCPU per domain here)",
        "vif (no network devices)",
        "vnc",
        "kernel (an HVM guest boots through the BIOS",
        "boot n (no network boot)",
        "on_crash = \"preserve\"",
        "on_reboot = \"rename-restart\"",
        "disk discard",
    ] {
        assert!(ignored.contains(want), "{want:?} not in {ignored}");
    }
    assert_eq!(dom.boot.as_deref(), Some("disk"));
    assert!(!dom.no_reboot);
}

#[test]
fn what_cannot_run_here_is_refused_with_the_line() {
    for (text, want) in [
        ("type = \"pvh\"", "type = \"pvh\" needs kernel"),
        ("type = \"vmx\"", "must be \"hvm\" or \"pvh\""),
        ("builder = 'generic'", "classic PV guests are not supported"),
        (
            "type = \"hvm\"\ntype = \"hvm\"",
            "line 2: type is set twice",
        ),
        (
            "memory = \"lots\"",
            "line 1: memory must be a number, not a string",
        ),
        ("acpi = 2", "acpi = 2: must be 0 or 1"),
        ("disk = 'a.img'", "disk must be a [list]"),
        ("disk = [ 1 ]", "must list strings"),
        ("disk = [ 'a.img,qcow2' ]", "only raw images"),
        (
            "disk = [ 'a.iso,,hdc,cdrom', 'b.iso,,hdd,cdrom' ]",
            "more than one CD-ROM",
        ),
        ("disk = [ 'a,,xvda', 'b,,hda' ]", "two disks in place 1"),
        ("disk = [ 'a,,xvda1' ]", "vdev=xvda1: not a disk name"),
        (
            "disk = [ 'a,,xvda', 'b,,xvdb', 'c,,xvdc', 'd,,xvdd' ]",
            "at most 3",
        ),
        ("boot = \"z\"", "'z' is not a boot device"),
        ("memory 3", "line 1: expected `=`"),
    ] {
        let err = parse(text).unwrap_err();
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

#[test]
fn a_missing_or_unreadable_file_is_one_line() {
    let err = load(Path::new("/nonexistent/guest.cfg")).unwrap_err();
    assert!(
        err.starts_with("--config /nonexistent/guest.cfg: "),
        "{err}"
    );
    assert!(!err.contains('\n'));
}

#[test]
fn the_repository_s_example_configs_parse() {
    let dir = crate::workspace_root().join("examples");
    let hvm = load(&dir.join("linux-hvm.cfg")).unwrap();
    assert_eq!(
        hvm.iso,
        Some(dir.join("../target/guests/linux.iso")),
        "{hvm:?}"
    );
    assert!(hvm.ignored.is_empty(), "{:?}", hvm.ignored);
}

#[test]
fn a_pvh_domain_takes_its_kernel_ramdisk_and_command_line() {
    let dom = parse(
        "kernel = \"k/vmlinuz\"\nramdisk = \"initrd.img\"\ntype = \"pvh\"\n\
         root = \"/dev/xvda1 ro\"\nextra = \"console=hvc0\"\n",
    )
    .unwrap();
    assert!(dom.pvh);
    assert_eq!(dom.kernel, Some(PathBuf::from("/cfg/k/vmlinuz")));
    assert_eq!(dom.ramdisk, Some(PathBuf::from("/cfg/initrd.img")));
    assert_eq!(
        dom.cmdline.as_deref(),
        Some("root=/dev/xvda1 ro console=hvc0")
    );
    assert!(dom.ignored.is_empty(), "{:?}", dom.ignored);
    let whole =
        parse("type = \"pvh\"\nkernel = \"v\"\ncmdline = \"console=hvc0 quiet\"\nextra = \"x\"\n")
            .unwrap();
    assert_eq!(whole.cmdline.as_deref(), Some("console=hvc0 quiet"));
    assert!(whole
        .ignored
        .join(";")
        .contains("root and extra (cmdline gives"));
}

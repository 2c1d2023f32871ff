//! One entry of an `xl` config's `disk = [ ... ]` (xl-disk-configuration(5)):
//! comma-separated keyword=value pairs, flags and positional parameters in
//! the order target, format, vdev, access (an empty one skips its place);
//! `target=` takes the rest of the string, commas and all. The deprecated
//! forms `file:PATH`, `phy:PATH`, `raw:PATH` and the vdev suffix `:cdrom`
//! are understood too, since old configs are full of them.

/// A disk as the config describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskSpec {
    pub target: String,
    /// The guest's name for it (`xvda`, `hda`, `sdb`, ...), if given.
    pub vdev: Option<String>,
    pub read_only: bool,
    /// `devtype=cdrom`, the `cdrom` flag or a `:cdrom` vdev.
    pub cdrom: bool,
    /// Keywords and flags accepted but without effect here.
    pub ignored: Vec<String>,
}

/// Keywords xl knows that change nothing for this hypervisor's disks.
const IGNORED_KEYS: [&str; 4] = ["backend", "backendtype", "script", "specification"];
/// Flags xl knows that change nothing here.
const IGNORED_FLAGS: [&str; 6] = [
    "discard",
    "no-discard",
    "direct-io-safe",
    "trusted",
    "untrusted",
    "colo",
];

/// Parses one DISKSPEC.
pub fn parse(spec: &str) -> Result<DiskSpec, String> {
    let bad = |what: String| format!("disk {spec:?}: {what}");
    let mut target: Option<String> = None;
    let mut format: Option<String> = None;
    let mut vdev: Option<String> = None;
    let mut access: Option<String> = None;
    let mut devtype: Option<String> = None;
    let mut ignored = Vec::new();
    let mut positional = 0;
    let mut rest = spec;
    while !rest.is_empty() {
        let trimmed = rest.trim_start();
        // `target=` is the last parameter and keeps its commas.
        if let Some(t) = trimmed.strip_prefix("target=") {
            set(&mut target, "target", t.trim().to_string()).map_err(bad)?;
            break;
        }
        let (item, after) = trimmed.split_once(',').unwrap_or((trimmed, ""));
        rest = after;
        let item = item.trim();
        if let Some((key, value)) = item.split_once('=') {
            let value = value.trim().to_string();
            match key.trim() {
                "format" => set(&mut format, "format", value),
                "vdev" => set(&mut vdev, "vdev", value),
                "access" => set(&mut access, "access", value),
                "devtype" => set(&mut devtype, "devtype", value),
                k if IGNORED_KEYS.contains(&k) => {
                    ignored.push(k.to_string());
                    Ok(())
                }
                k => Err(format!("unknown keyword {k:?}")),
            }
            .map_err(bad)?;
            continue;
        }
        match item {
            "cdrom" => {
                set(&mut devtype, "devtype", "cdrom".into()).map_err(bad)?;
                continue;
            }
            f if IGNORED_FLAGS.contains(&f) => {
                ignored.push(f.to_string());
                continue;
            }
            _ => {}
        }
        // The next positional parameter not yet given by name; an empty one
        // keeps its default.
        loop {
            let slot = match positional {
                0 => &mut target,
                1 => &mut format,
                2 => &mut vdev,
                3 => &mut access,
                _ => return Err(bad(format!("too many parameters at {item:?}"))),
            };
            positional += 1;
            if slot.is_none() {
                if !item.is_empty() {
                    *slot = Some(item.to_string());
                }
                break;
            }
        }
        // A deprecated `FORMAT:PATH` target says the format itself, so the
        // next positional parameter is the vdev.
        if positional == 1 && format.is_none() {
            if let Some((f, path)) = target.as_deref().and_then(split_format_prefix) {
                format = Some(f.to_string());
                target = Some(path.to_string());
            }
        }
    }
    let target = target
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("no target (the image file)".into()))?;
    match format.as_deref() {
        None | Some("raw" | "file" | "phy" | "aio") => {}
        Some(f) => return Err(bad(format!("format={f} is not supported: only raw images"))),
    }
    if let Some(v) = vdev.take() {
        match v.strip_suffix(":cdrom") {
            Some(name) => {
                devtype.get_or_insert_with(|| "cdrom".into());
                vdev = Some(name.to_string());
            }
            None => vdev = Some(v),
        }
    }
    let cdrom = match devtype.as_deref() {
        None | Some("disk") => false,
        Some("cdrom") => true,
        Some(d) => return Err(bad(format!("devtype={d}: must be disk or cdrom"))),
    };
    let read_only = match access.as_deref() {
        None => cdrom,
        Some("ro" | "r") => true,
        Some("rw" | "w") if cdrom => {
            return Err(bad("a CD-ROM is read-only (access=ro)".into()));
        }
        Some("rw" | "w") => false,
        Some(a) => return Err(bad(format!("access={a}: must be ro or rw"))),
    };
    Ok(DiskSpec {
        target,
        vdev,
        read_only,
        cdrom,
        ignored,
    })
}

/// `raw:PATH`, `file:PATH`, `qcow2:PATH`, ...: the deprecated way of
/// giving the format (or the backend) with the target.
fn split_format_prefix(target: &str) -> Option<(&str, &str)> {
    const PREFIXES: [&str; 9] = [
        "raw", "file", "phy", "aio", "qcow", "qcow2", "vhd", "qed", "tap",
    ];
    let (prefix, path) = target.split_once(':')?;
    PREFIXES.contains(&prefix).then_some((prefix, path))
}

fn set(slot: &mut Option<String>, name: &str, value: String) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{name} is given twice"));
    }
    *slot = Some(value);
    Ok(())
}

/// Where a vdev name puts a disk among the others: its letter (`xvdb`,
/// `sdb`, `hdb` are all the second), or None for a name xl would not take.
pub fn vdev_index(vdev: &str) -> Option<u32> {
    let letters = ["xvd", "hd", "sd"]
        .iter()
        .find_map(|p| vdev.strip_prefix(p))?;
    let mut chars = letters.chars();
    let letter = chars.next().filter(char::is_ascii_lowercase)?;
    // Partitions (`xvda1`) are PV-only and not disks of their own here.
    if chars.next().is_some() {
        return None;
    }
    Some(u32::from(letter) - u32::from('a'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(target: &str, vdev: &str, read_only: bool, cdrom: bool) -> DiskSpec {
        DiskSpec {
            target: target.into(),
            vdev: Some(vdev.into()),
            read_only,
            cdrom,
            ignored: Vec::new(),
        }
    }

    #[test]
    fn the_manual_s_equivalent_forms_parse_alike() {
        let volume = disk("/dev/vg/guest-volume", "hda", false, false);
        for spec in [
            "/dev/vg/guest-volume,,hda",
            "/dev/vg/guest-volume,raw,hda,rw",
            "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
            "raw:/dev/vg/guest-volume,hda,w",
        ] {
            assert_eq!(parse(spec).unwrap(), volume, "{spec}");
        }
        let iso = disk("/root/image.iso", "hdc", true, true);
        for spec in [
            "/root/image.iso,,hdc,cdrom",
            "/root/image.iso,,hdc,,cdrom",
            "/root/image.iso,raw,hdc,devtype=cdrom",
            "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
        ] {
            assert_eq!(parse(spec).unwrap(), iso, "{spec}");
        }
        let old = parse("file:/root/image.iso,hdc:cdrom,r").unwrap();
        assert_eq!(
            (old.target.as_str(), old.cdrom, old.read_only),
            ("/root/image.iso", true, true)
        );
    }

    #[test]
    fn target_keeps_its_commas_and_flags_are_named() {
        let d = parse("vdev=xvdb, access=ro, discard, target=/tmp/a,b.img").unwrap();
        assert_eq!(d.target, "/tmp/a,b.img");
        assert!(d.read_only && !d.cdrom);
        assert_eq!(d.ignored, ["discard"]);
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        for (spec, want) in [
            ("", "no target"),
            (",,xvda", "no target"),
            ("a.img,qcow2,xvda", "only raw images"),
            ("qcow2:a.img,xvda", "format=qcow2 is not supported"),
            ("a.img,raw,xvda,rw,extra", "too many parameters"),
            ("a.img,,xvda,maybe", "access=maybe"),
            ("a.iso,,hdc,rw,cdrom", "read-only"),
            ("colour=red,a.img", "unknown keyword"),
            ("vdev=xvda,vdev=xvdb,target=a", "vdev is given twice"),
            ("a.img,devtype=floppy", "devtype=floppy"),
        ] {
            let err = parse(spec).unwrap_err();
            assert!(err.contains(want), "{spec:?}: {err}");
        }
    }

    #[test]
    fn vdev_names_order_the_disks() {
        assert_eq!(vdev_index("xvda"), Some(0));
        assert_eq!(vdev_index("hdb"), Some(1));
        assert_eq!(vdev_index("sdc"), Some(2));
        assert_eq!(vdev_index("xvda1"), None);
        assert_eq!(vdev_index("vda"), None);
        assert_eq!(vdev_index("xvd"), None);
    }
}

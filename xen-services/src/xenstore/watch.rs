//! Watches (`docs/misc/xenstore.txt`, WATCH/UNWATCH/WATCH_EVENT).
//!
//! A connection (one per domain here) registers a path and a token. The
//! watch fires once when registered and then whenever a node at or below
//! its path changes; the event carries the changed path and the token. A
//! watch registered with a relative path gets relative paths back. The
//! special paths `@introduceDomain` and `@releaseDomain` fire when a
//! domain is introduced or released.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use xen_abi::errno::Errno;

use super::tree::{canonicalize, domain_path, is_at_or_below};
use super::XsResult;

/// The special watch path fired when a domain is introduced.
pub const INTRODUCE_DOMAIN: &str = "@introduceDomain";
/// The special watch path fired when a domain is released.
pub const RELEASE_DOMAIN: &str = "@releaseDomain";

/// One registered watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    /// Canonical absolute path, or a special `@` path.
    pub path: String,
    /// The client's token, returned in every event.
    pub token: Vec<u8>,
    /// Registered with a relative path: events strip the domain's home.
    pub relative: bool,
}

/// A watch event for one domain: path (as the watcher sees it) and token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The watching domain.
    pub domid: u16,
    /// The path to report.
    pub path: String,
    /// The watch's token.
    pub token: Vec<u8>,
}

/// Every domain's watches.
#[derive(Clone, Debug, Default)]
pub struct Watches {
    by_domain: BTreeMap<u16, Vec<Watch>>,
}

impl Watches {
    /// The watch a WATCH payload describes, canonicalised for `domid`.
    pub fn parse(domid: u16, path: &[u8], token: &[u8]) -> XsResult<Watch> {
        let special = [INTRODUCE_DOMAIN, RELEASE_DOMAIN]
            .into_iter()
            .find(|s| s.as_bytes() == path);
        let (path, relative) = match special {
            Some(s) => (String::from(s), false),
            None => (canonicalize(domid, path)?, path.first() != Some(&b'/')),
        };
        Ok(Watch {
            path,
            token: token.to_vec(),
            relative,
        })
    }

    /// Watches `domid` has.
    pub fn count(&self, domid: u16) -> usize {
        self.by_domain.get(&domid).map_or(0, Vec::len)
    }

    /// Registers `w`: `EEXIST` if the same path and token are registered.
    pub fn add(&mut self, domid: u16, w: Watch) -> XsResult<()> {
        let list = self.by_domain.entry(domid).or_default();
        if list.iter().any(|o| o.path == w.path && o.token == w.token) {
            return Err(Errno::EEXIST);
        }
        list.push(w);
        Ok(())
    }

    /// Removes the watch with this path and token: `ENOENT` if none.
    pub fn remove(&mut self, domid: u16, w: &Watch) -> XsResult<()> {
        let list = self.by_domain.get_mut(&domid).ok_or(Errno::ENOENT)?;
        let i = list
            .iter()
            .position(|o| o.path == w.path && o.token == w.token)
            .ok_or(Errno::ENOENT)?;
        list.remove(i);
        Ok(())
    }

    /// Drops every watch of `domid` (RESET_WATCHES, release).
    pub fn reset(&mut self, domid: u16) {
        self.by_domain.remove(&domid);
    }

    /// The event `w` of `domid` reports for `path`.
    pub fn event(domid: u16, w: &Watch, path: &str) -> Event {
        let mut p = path;
        if w.relative {
            let home = domain_path(domid) + "/";
            if let Some(rest) = path.strip_prefix(home.as_str()) {
                p = rest;
            }
        }
        Event {
            domid,
            path: String::from(p),
            token: w.token.clone(),
        }
    }

    /// The events for a change of `path`; with `recurse` (a removal)
    /// watches below `path` fire too, each with its own path. `visible`
    /// decides whether a domain may learn about a path.
    pub fn fire(
        &self,
        path: &str,
        recurse: bool,
        mut visible: impl FnMut(u16, &str) -> bool,
    ) -> Vec<Event> {
        let mut out = Vec::new();
        let special = path.starts_with('@');
        for (&domid, list) in &self.by_domain {
            for w in list {
                let hit = if special || w.path.starts_with('@') {
                    w.path == path
                } else if is_at_or_below(path, &w.path) {
                    visible(domid, path)
                } else if recurse && is_at_or_below(&w.path, path) {
                    out.extend(visible(domid, &w.path).then(|| Self::event(domid, w, &w.path)));
                    false
                } else {
                    false
                };
                if hit {
                    out.push(Self::event(domid, w, path));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_come_back_relative() {
        let mut ws = Watches::default();
        let w = Watches::parse(3, b"device", b"tok").unwrap();
        assert_eq!(w.path, "/local/domain/3/device");
        ws.add(3, w.clone()).unwrap();
        assert_eq!(ws.add(3, w.clone()), Err(Errno::EEXIST));
        let ev = ws.fire("/local/domain/3/device/vbd/1", false, |_, _| true);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].path, "device/vbd/1");
        assert!(ws
            .fire("/local/domain/3/devices", false, |_, _| true)
            .is_empty());
        // Another domain's home that shares a prefix is reported whole.
        let w30 = Watch {
            relative: true,
            ..Watches::parse(3, b"/local/domain/30", b"t").unwrap()
        };
        let e = Watches::event(3, &w30, "/local/domain/30/x");
        assert_eq!(e.path, "/local/domain/30/x");
        ws.remove(3, &w).unwrap();
        assert_eq!(ws.remove(3, &w), Err(Errno::ENOENT));
    }

    #[test]
    fn removal_fires_watches_below() {
        let mut ws = Watches::default();
        ws.add(0, Watches::parse(0, b"/a/b/c", b"t").unwrap())
            .unwrap();
        let ev = ws.fire("/a", true, |_, _| true);
        assert_eq!(ev[0].path, "/a/b/c");
        ws.add(0, Watches::parse(0, b"@releaseDomain", b"r").unwrap())
            .unwrap();
        assert_eq!(ws.fire("@releaseDomain", false, |_, _| true).len(), 1);
    }
}

//! The node tree: absolute path → value bytes, children and permissions,
//! with the path rules of xenstored's `is_valid_path` and the operations
//! of `docs/misc/xenstore.txt` (WRITE and MKDIR create missing parents,
//! RM removes a whole subtree).
//!
//! Nodes live in one ordered map keyed by their canonical path; each keeps
//! its children's names (DIRECTORY lists them, NUL-separated) and a
//! generation number, bumped whenever the node's value, permissions or
//! children change, which transactions and DIRECTORY_PART use to notice
//! changes. Nodes are shared (`Arc`, copied on write) between the live
//! tree and transactions' snapshots, so a snapshot costs the paths only.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Bound;

use xen_abi::errno::Errno;
use xen_abi::xenstore::{XENSTORE_ABS_PATH_MAX, XENSTORE_PAYLOAD_MAX, XENSTORE_REL_PATH_MAX};

use super::permissions::{Access, Perms};
use super::quota::Quotas;
use super::{XsResult, DOM0};

/// One node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The value, any bytes.
    pub value: Vec<u8>,
    /// The children's names (one path component each).
    pub children: BTreeSet<String>,
    /// Who may do what.
    pub perms: Perms,
    /// Bumped on every change to this node.
    pub generation: u64,
}

/// The whole store.
#[derive(Clone, Debug)]
pub struct Tree {
    nodes: BTreeMap<String, Arc<Node>>,
    counter: u64,
    owned: BTreeMap<u16, usize>,
}

/// `/local/domain/<domid>`, a domain's home, against which relative paths
/// resolve.
pub fn domain_path(domid: u16) -> String {
    format!("/local/domain/{domid}")
}

/// Is `path` (absolute) made of xenstored's allowed characters (ASCII
/// letters and digits, `-`, `/`, `_`, `@`), free of empty components
/// (`//`) and without a trailing `/` unless it is the root? `.` is not
/// allowed, so neither is `..`.
pub fn is_valid_path(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
        && path
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"-/_@".contains(&c))
        && !path.windows(2).any(|w| w == b"//")
        && (path.len() == 1 || path.last() != Some(&b'/'))
}

/// The canonical absolute path of `raw` for `caller`: absolute paths are
/// taken as they are (at most `XENSTORE_ABS_PATH_MAX` bytes), relative ones
/// (at most `XENSTORE_REL_PATH_MAX`) resolve against the caller's home.
/// `EINVAL` for anything else.
pub fn canonicalize(caller: u16, raw: &[u8]) -> XsResult<String> {
    let path = if raw.first() == Some(&b'/') {
        if raw.len() > XENSTORE_ABS_PATH_MAX {
            return Err(Errno::EINVAL);
        }
        raw.to_vec()
    } else {
        if raw.is_empty() || raw.len() > XENSTORE_REL_PATH_MAX {
            return Err(Errno::EINVAL);
        }
        let mut p = domain_path(caller).into_bytes();
        p.push(b'/');
        p.extend_from_slice(raw);
        p
    };
    if !is_valid_path(&path) || path.len() > XENSTORE_ABS_PATH_MAX {
        return Err(Errno::EINVAL);
    }
    // As xenstored's `is_valid_nodename` (the `quota-path-max` quota, which
    // binds guests only): the part after `/local/domain/<id>/` may be
    // `XENSTORE_REL_PATH_MAX` long, and so may the whole of any other path.
    let digits = path.strip_prefix(b"/local/domain/").map_or(0, |rest| {
        rest.iter()
            .take(5)
            .take_while(|c| c.is_ascii_digit())
            .count()
    });
    let home = "/local/domain/".len() + digits;
    let local = if digits > 0 && path.get(home) == Some(&b'/') {
        home + 1
    } else {
        0
    };
    if caller != DOM0 && path.len() > local + XENSTORE_REL_PATH_MAX {
        return Err(Errno::EINVAL);
    }
    String::from_utf8(path).map_err(|_| Errno::EINVAL)
}

/// The parent of a canonical path other than the root.
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Is `path` `base` itself or below it?
pub fn is_at_or_below(path: &str, base: &str) -> bool {
    base == "/"
        || path == base
        || (path.starts_with(base) && path.as_bytes().get(base.len()) == Some(&b'/'))
}

fn last_component(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    /// `/`, `/local` and `/local/domain`, owned by domain 0 and hidden from
    /// everyone else (`n0`).
    pub fn new() -> Self {
        let mut t = Tree {
            nodes: BTreeMap::new(),
            counter: 0,
            owned: BTreeMap::new(),
        };
        let perms = Perms::owned_by(DOM0, Access::None);
        t.insert_node("/", Vec::new(), perms.clone());
        t.insert_node("/local", Vec::new(), perms.clone());
        t.insert_node("/local/domain", Vec::new(), perms);
        t
    }

    fn bump(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn insert_node(&mut self, path: &str, value: Vec<u8>, perms: Perms) {
        let generation = self.bump();
        *self.owned.entry(perms.owner()).or_default() += 1;
        self.nodes.insert(
            String::from(path),
            Arc::new(Node {
                value,
                children: BTreeSet::new(),
                perms,
                generation,
            }),
        );
        if path != "/" {
            let g = self.bump();
            if let Some(p) = self.nodes.get_mut(parent(path)).map(Arc::make_mut) {
                p.children.insert(String::from(last_component(path)));
                p.generation = g;
            }
        }
    }

    /// The node at a canonical path, unchecked.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path).map(|n| &**n)
    }

    /// The node's generation, `None` if it does not exist.
    pub fn generation(&self, path: &str) -> Option<u64> {
        self.nodes.get(path).map(|n| n.generation)
    }

    /// Number of nodes in the store.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: the root exists.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Nodes `domid` owns.
    pub fn owned_by(&self, domid: u16) -> usize {
        self.owned.get(&domid).copied().unwrap_or(0)
    }

    /// The node itself or its closest existing ancestor (the root always
    /// exists).
    pub fn nearest(&self, path: &str) -> (&str, &Node) {
        let mut p = path;
        loop {
            if let Some((k, n)) = self.nodes.get_key_value(p) {
                return (k, &**n);
            }
            p = parent(p);
        }
    }

    /// Does `caller` see `path` (the node, or if missing, its closest
    /// ancestor) with `want` access?
    pub fn permitted(&self, caller: u16, path: &str, want: Access) -> bool {
        self.nearest(path).1.perms.access_for(caller).allows(want)
    }

    /// The node for reading: `EACCES` without read access, `ENOENT` if it
    /// does not exist (and the caller may see that).
    pub fn read(&self, caller: u16, path: &str) -> XsResult<&Node> {
        let (_, n) = self.nearest(path);
        n.perms.check(caller, Access::Read)?;
        self.nodes.get(path).map(|n| &**n).ok_or(Errno::ENOENT)
    }

    /// WRITE: sets the value, creating the node and missing parents.
    pub fn write(&mut self, caller: u16, path: &str, value: &[u8], q: &Quotas) -> XsResult<()> {
        if value.len() > XENSTORE_PAYLOAD_MAX {
            return Err(Errno::E2BIG);
        }
        q.check_value(caller, value.len())?;
        self.mkdir(caller, path, q)?;
        let g = self.bump();
        let n = self
            .nodes
            .get_mut(path)
            .map(Arc::make_mut)
            .ok_or(Errno::ENOENT)?;
        n.value = value.to_vec();
        n.generation = g;
        Ok(())
    }

    /// MKDIR: creates the node (empty) and missing parents, each with the
    /// permissions of the closest existing ancestor (owned by the caller if
    /// it is a guest). An existing node is left alone if writable.
    pub fn mkdir(&mut self, caller: u16, path: &str, q: &Quotas) -> XsResult<()> {
        let (base, n) = self.nearest(path);
        n.perms.check(caller, Access::Write)?;
        if base == path {
            return Ok(());
        }
        let perms = if caller == DOM0 {
            n.perms.clone()
        } else {
            n.perms.with_owner(caller)
        };
        let base = String::from(base);
        let missing: Vec<&str> = path[base.len()..]
            .split('/')
            .filter(|c| !c.is_empty())
            .collect();
        q.check_nodes(
            caller,
            self.owned_by(perms.owner()) + missing.len().saturating_sub(1),
        )?;
        let mut at = base;
        for c in missing {
            at = join(&at, c);
            self.insert_node(&at, Vec::new(), perms.clone());
        }
        Ok(())
    }

    /// RM: removes the node and everything below it. A missing node whose
    /// parent exists is not an error (`Ok(false)`), as in xenstored.
    pub fn rm(&mut self, caller: u16, path: &str) -> XsResult<bool> {
        if path == "/" {
            return Err(Errno::EINVAL);
        }
        let (base, n) = self.nearest(path);
        if base != path {
            n.perms.check(caller, Access::Read)?;
            return if base == parent(path) {
                Ok(false)
            } else {
                Err(Errno::ENOENT)
            };
        }
        n.perms.check(caller, Access::Write)?;
        let doomed: Vec<String> = self
            .nodes
            .range::<str, _>((Bound::Included(path), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(path))
            .filter(|(k, _)| is_at_or_below(k, path))
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            if let Some(n) = self.nodes.remove(&k) {
                if let Some(c) = self.owned.get_mut(&n.perms.owner()) {
                    *c = c.saturating_sub(1);
                }
            }
        }
        let g = self.bump();
        if let Some(p) = self.nodes.get_mut(parent(path)).map(Arc::make_mut) {
            p.children.remove(last_component(path));
            p.generation = g;
        }
        Ok(true)
    }

    /// SET_PERMS: only the owner (or domain 0) may, and a guest may not
    /// give its node away (`EPERM`).
    pub fn set_perms(&mut self, caller: u16, path: &str, perms: Perms, q: &Quotas) -> XsResult<()> {
        q.check_perms(caller, perms.entries().len())?;
        let n = self.read(caller, path)?;
        let old = n.perms.owner();
        if caller != DOM0 && caller != old {
            return Err(Errno::EACCES);
        }
        if caller != DOM0 && perms.owner() != old {
            return Err(Errno::EPERM);
        }
        let g = self.bump();
        if let Some(c) = self.owned.get_mut(&old) {
            *c = c.saturating_sub(1);
        }
        *self.owned.entry(perms.owner()).or_default() += 1;
        if let Some(n) = self.nodes.get_mut(path).map(Arc::make_mut) {
            n.perms = perms;
            n.generation = g;
        }
        Ok(())
    }
}

/// A DIRECTORY_PART offset in decimal.
pub fn parse_offset(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |a, d| a * 10 + usize::from(d - b'0')))
}

/// A DIRECTORY_PART reply as xenstored's `send_directory_part`: the node's
/// generation, then whole child names (each NUL-terminated) from byte
/// `off` of the full listing while they fit in one payload, then an empty
/// string once the listing is complete.
pub fn directory_part(generation: u64, children: &BTreeSet<String>, off: usize) -> Vec<u8> {
    let mut out = format!("{generation}\0").into_bytes();
    let all: Vec<u8> = children.iter().flat_map(|c| c.bytes().chain([0])).collect();
    let rest = all.get(off..).unwrap_or(&[]);
    let room = XENSTORE_PAYLOAD_MAX - out.len() - 1;
    let mut used = 0;
    for name in rest.split_inclusive(|&b| b == 0) {
        if used + name.len() > room {
            break;
        }
        used += name.len();
    }
    out.extend_from_slice(&rest[..used]);
    if used == rest.len() {
        out.push(0);
    }
    out
}

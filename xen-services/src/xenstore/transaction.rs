//! Transactions (`docs/misc/xenstore.txt`, TRANSACTION_START/END).
//!
//! A transaction works on a snapshot of the tree taken when it starts.
//! Every path it reads or writes (and the parent of every path it writes,
//! whose child list changes) is remembered with the generation that node
//! had in the snapshot. Committing checks each of those against the live
//! tree: if any changed (or appeared, or went away), the commit fails with
//! `EAGAIN` and the client retries. Otherwise the transaction's operations
//! are replayed on the live tree, all or nothing. Aborting discards it.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use xen_abi::errno::Errno;

use super::permissions::Perms;
use super::quota::Quotas;
use super::tree::{parent, Tree};
use super::XsResult;

/// A change a transaction made, to be replayed on commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// WRITE path value.
    Write(String, Vec<u8>),
    /// MKDIR path.
    Mkdir(String),
    /// RM path.
    Rm(String),
    /// SET_PERMS path perms.
    SetPerms(String, Perms),
}

impl Op {
    /// The path the operation changes.
    pub fn path(&self) -> &str {
        match self {
            Op::Write(p, _) | Op::Mkdir(p) | Op::Rm(p) | Op::SetPerms(p, _) => p,
        }
    }
}

/// One open transaction.
#[derive(Clone, Debug)]
pub struct Transaction {
    /// The domain that started it.
    pub owner: u16,
    /// The transaction's view: the snapshot plus its own changes.
    pub tree: Tree,
    seen: BTreeMap<String, Option<u64>>,
    ops: Vec<Op>,
}

impl Transaction {
    /// Starts a transaction for `owner` on a snapshot of `live`.
    pub fn start(owner: u16, live: &Tree) -> Self {
        Self {
            owner,
            tree: live.clone(),
            seen: BTreeMap::new(),
            ops: Vec::new(),
        }
    }

    /// Remembers that the transaction depends on `path` as it was in the
    /// snapshot (the first time only: later generations are its own).
    pub fn note_read(&mut self, path: &str) {
        if !self.seen.contains_key(path) {
            let g = self.tree.generation(path);
            self.seen.insert(String::from(path), g);
        }
    }

    /// Applies `op` to the transaction's view and logs it for the commit.
    pub fn apply(&mut self, caller: u16, op: Op, q: &Quotas) -> XsResult<()> {
        let path = String::from(op.path());
        self.note_read(&path);
        if path != "/" {
            self.note_read(parent(&path));
        }
        apply_op(&mut self.tree, caller, &op, q)?;
        self.ops.push(op);
        Ok(())
    }

    /// Commits onto `live`: `EAGAIN` if anything the transaction depends
    /// on changed meanwhile, else every logged operation is replayed (all
    /// or nothing) and the operations are returned for firing watches.
    pub fn commit(self, live: &mut Tree, q: &Quotas) -> XsResult<Vec<Op>> {
        if self
            .seen
            .iter()
            .any(|(path, g)| live.generation(path) != *g)
        {
            return Err(Errno::EAGAIN);
        }
        let mut next = live.clone();
        for op in &self.ops {
            apply_op(&mut next, self.owner, op, q)?;
        }
        *live = next;
        Ok(self.ops)
    }
}

/// Performs one changing operation on `tree` as `caller`.
pub fn apply_op(tree: &mut Tree, caller: u16, op: &Op, q: &Quotas) -> XsResult<()> {
    match op {
        Op::Write(p, v) => tree.write(caller, p, v, q),
        Op::Mkdir(p) => tree.mkdir(caller, p, q),
        Op::Rm(p) => tree.rm(caller, p).map(|_| ()),
        Op::SetPerms(p, perms) => tree.set_perms(caller, p, perms.clone(), q),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_is_eagain_and_disjoint_commits() {
        let q = Quotas::default();
        let mut live = Tree::new();
        live.write(0, "/a/x", b"1", &q).unwrap();
        live.write(0, "/b/y", b"1", &q).unwrap();
        let mut t1 = Transaction::start(0, &live);
        let mut t2 = Transaction::start(0, &live);
        t1.note_read("/a/x");
        t1.apply(0, Op::Write("/a/x".into(), b"2".to_vec()), &q)
            .unwrap();
        t2.apply(0, Op::Write("/b/y".into(), b"3".to_vec()), &q)
            .unwrap();
        // Each left the live tree alone so far.
        assert_eq!(live.get("/a/x").unwrap().value, b"1");
        t1.commit(&mut live, &q).unwrap();
        t2.commit(&mut live, &q).unwrap();
        assert_eq!(live.get("/a/x").unwrap().value, b"2");
        assert_eq!(live.get("/b/y").unwrap().value, b"3");

        let mut t3 = Transaction::start(0, &live);
        t3.note_read("/a/x");
        live.write(0, "/a/x", b"4", &q).unwrap();
        assert_eq!(t3.commit(&mut live, &q).unwrap_err(), Errno::EAGAIN);
    }
}

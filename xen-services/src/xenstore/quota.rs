//! Per-domain quotas, with the defaults of C xenstored
//! (`tools/xenstored/core.c`/`domain.c`: `quota_nb_entry_per_domain`,
//! `quota_nb_watch_per_domain`, `quota_max_entry_size`,
//! `quota_max_transaction`, `quota_nb_perms_per_node`,
//! `quota_req_outstanding`). Domain 0 is exempt from all of them.
//!
//! Exceeding one is reported with the name xenstored uses: `ENOSPC` for
//! nodes, value size, transactions and permission entries, `E2BIG` for
//! watches. Hard protocol limits (payload 4096 bytes, path lengths) are
//! not quotas and apply to everyone.

use xen_abi::errno::Errno;

use super::{XsResult, DOM0};

/// The limits one unprivileged domain works under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// Nodes a domain may own.
    pub nodes: usize,
    /// Watches a domain may register.
    pub watches: usize,
    /// Transactions a domain may have open at once.
    pub transactions: usize,
    /// Bytes a node's value may hold when a guest writes it.
    pub value_size: usize,
    /// Entries after the owner entry in a permission list a guest sets.
    pub perms: usize,
    /// Requests a ring driver should have in flight for one domain before
    /// it stops reading that domain's ring (the server itself answers each
    /// request at once and so never queues more).
    pub outstanding: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            nodes: 1000,
            watches: 128,
            transactions: 10,
            value_size: 2048,
            perms: 5,
            outstanding: 20,
        }
    }
}

impl Quotas {
    /// `ENOSPC` if `domid` may not own `owned + 1` nodes.
    pub fn check_nodes(&self, domid: u16, owned: usize) -> XsResult<()> {
        Self::limit(domid, owned < self.nodes, Errno::ENOSPC)
    }

    /// `E2BIG` if `domid` may not add a watch to its `count`.
    pub fn check_watches(&self, domid: u16, count: usize) -> XsResult<()> {
        Self::limit(domid, count < self.watches, Errno::E2BIG)
    }

    /// `ENOSPC` if `domid` may not open a transaction beside its `open`.
    pub fn check_transactions(&self, domid: u16, open: usize) -> XsResult<()> {
        Self::limit(domid, open < self.transactions, Errno::ENOSPC)
    }

    /// `ENOSPC` if `domid` may not store a value of `len` bytes.
    pub fn check_value(&self, domid: u16, len: usize) -> XsResult<()> {
        Self::limit(domid, len <= self.value_size, Errno::ENOSPC)
    }

    /// `ENOSPC` if `domid` may not set a list of `entries` entries.
    pub fn check_perms(&self, domid: u16, entries: usize) -> XsResult<()> {
        Self::limit(domid, entries <= self.perms + 1, Errno::ENOSPC)
    }

    fn limit(domid: u16, ok: bool, err: Errno) -> XsResult<()> {
        if domid == DOM0 || ok {
            Ok(())
        } else {
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_dom0_exempt() {
        let q = Quotas::default();
        assert_eq!((q.nodes, q.watches, q.transactions), (1000, 128, 10));
        assert_eq!(q.check_nodes(1, 999), Ok(()));
        assert_eq!(q.check_nodes(1, 1000), Err(Errno::ENOSPC));
        assert_eq!(q.check_nodes(0, 100_000), Ok(()));
        assert_eq!(q.check_watches(1, 128), Err(Errno::E2BIG));
        assert_eq!(q.check_transactions(1, 10), Err(Errno::ENOSPC));
        assert_eq!(q.check_value(1, 2049), Err(Errno::ENOSPC));
        assert_eq!(q.check_perms(1, 7), Err(Errno::ENOSPC));
    }
}

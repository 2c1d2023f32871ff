//! The hypervisor heap: one physical range handed to a linked-list allocator.

use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Gives the heap the identity-mapped physical range `[start, start+size)`.
///
/// # Safety
/// The range must be RAM that nothing else uses, mapped writable, and this must
/// be called once.
pub unsafe fn init(start: u64, size: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { HEAP.lock().init(start as *mut u8, size as usize) };
}

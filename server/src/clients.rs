//! [`ClientTable`]: the open connections, for `maxclients` and for graceful shutdown.
//!
//! Each admitted connection gets a [`Shutdown`] signal, whose sending half stays here.
//! Shutdown drops every sending half: a connection waiting for input sees the signal and
//! closes, while one in the middle of a batch finishes it first (commands already read are
//! executed and answered). Polling the signal costs a few atomic operations per read; no
//! lock is taken on the command path.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::sync::{Notify, oneshot};

/// The open connections.
#[derive(Debug, Default)]
pub(crate) struct ClientTable {
    state: Mutex<State>,
    /// Signalled when the last connection leaves.
    idle: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Shutdown started: connections admitted from now on are told at once.
    closing: bool,
    /// One entry per open connection: the sending half of its shutdown signal (taken when
    /// shutdown starts).
    signals: slab::Slab<Option<oneshot::Sender<()>>>,
}

impl ClientTable {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock guards plain data that every critical section leaves consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits one more connection unless `max` are open.
    pub(crate) fn admit(self: &Arc<Self>, max: usize) -> Option<(ClientSlot, Shutdown)> {
        let mut state = self.lock();
        if state.signals.len() >= max {
            return None;
        }
        let (sender, receiver) = oneshot::channel();
        let sender = if state.closing { None } else { Some(sender) };
        let key = state.signals.insert(sender);
        Some((ClientSlot { table: Arc::clone(self), key }, Shutdown { receiver, fired: false }))
    }

    /// Number of open connections.
    pub(crate) fn len(&self) -> usize {
        self.lock().signals.len()
    }

    /// Tells every open connection, and any admitted later, that the server shuts down.
    pub(crate) fn shut_down(&self) {
        let mut state = self.lock();
        state.closing = true;
        for (_, signal) in state.signals.iter_mut() {
            // Dropping the sender completes the receiver.
            signal.take();
        }
    }

    /// Completes once no connection is open.
    pub(crate) async fn drained(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One connection's entry in the [`ClientTable`], removed on drop.
#[derive(Debug)]
pub(crate) struct ClientSlot {
    table: Arc<ClientTable>,
    key: usize,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut state = self.table.lock();
        state.signals.try_remove(self.key);
        let empty = state.signals.is_empty();
        drop(state);
        if empty {
            self.table.idle.notify_waiters();
        }
    }
}

/// A connection's shutdown signal: a future that completes when the server shuts down, and
/// may be polled again after that (it stays complete).
#[derive(Debug)]
pub(crate) struct Shutdown {
    receiver: oneshot::Receiver<()>,
    fired: bool,
}

impl Future for Shutdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired {
            return Poll::Ready(());
        }
        // Whether sent or dropped, a completed channel means shutdown.
        match Pin::new(&mut self.receiver).poll(cx) {
            Poll::Ready(_) => {
                self.fired = true;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_and_limits() {
        let table = Arc::new(ClientTable::default());
        let (slot, _signal) = table.admit(1).expect("first admitted");
        assert!(table.admit(1).is_none(), "over the limit");
        assert_eq!(table.len(), 1);
        drop(slot);
        assert_eq!(table.len(), 0);
        table.drained().await;
    }

    #[tokio::test]
    async fn shutdown_reaches_open_and_late_connections() {
        let table = Arc::new(ClientTable::default());
        let (slot, mut signal) = table.admit(10).expect("admitted");
        let waiter = tokio::spawn(async move {
            (&mut signal).await;
            // Still complete when polled again.
            signal.await;
            drop(slot);
        });
        tokio::task::yield_now().await;
        table.shut_down();
        waiter.await.expect("waiter");
        table.drained().await;
        let (_slot, late) = table.admit(10).expect("admitted");
        late.await;
    }
}

//! Two ways to share the forks.

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use zephyr::sync::channel::{self, Receiver, Sender};
use zephyr::sync::Arc;
use zephyr::sys::sync::Semaphore;
use zephyr::time::{Duration, Forever};
use zephyr::{kobj_define, printkln};

use crate::NUM_PHIL;

/// Taking and releasing forks by number; `take` blocks until the fork is free.
pub trait Forks: Send + Sync {
    fn take(&self, fork: usize);
    fn release(&self, fork: usize);
}

kobj_define! {
    static FORK_SEMS: [StaticSemaphore; NUM_PHIL];
    static SERVER_THREAD: StaticThread;
    static SERVER_STACK: ThreadStack<2048>;
}

/// One semaphore per fork, each defined statically and initialised once.
struct SemaphoreForks {
    forks: Vec<Semaphore>,
}

impl Forks for SemaphoreForks {
    fn take(&self, fork: usize) {
        self.forks[fork].take(Forever).unwrap();
    }

    fn release(&self, fork: usize) {
        self.forks[fork].give();
    }
}

#[allow(dead_code)]
pub fn semaphores() -> Arc<dyn Forks> {
    let forks = FORK_SEMS.iter().map(|sem| sem.init_once((1, 1)).unwrap()).collect();
    Arc::new(SemaphoreForks { forks })
}

/// What a philosopher asks the fork server.
enum Request {
    Take { fork: usize, reply: Sender<()> },
    Release { fork: usize },
}

/// A server thread owns the forks; philosophers talk to it over channels.
struct ChannelForks {
    requests: Sender<Request>,
    replies: Vec<(Sender<()>, Receiver<()>)>,
}

impl Forks for ChannelForks {
    fn take(&self, fork: usize) {
        let (reply, granted) = &self.replies[fork];
        self.requests.send(Request::Take { fork, reply: reply.clone() }).unwrap();
        granted.recv_timeout(Duration::secs_at_least(5)).expect("the fork server answers");
    }

    fn release(&self, fork: usize) {
        self.requests.send(Request::Release { fork }).unwrap();
    }
}

#[allow(dead_code)]
pub fn channel() -> Arc<dyn Forks> {
    #[cfg(CONFIG_PHIL_BOUNDED_CHANNELS)]
    let (requests, incoming) = channel::bounded(2 * NUM_PHIL);
    #[cfg(not(CONFIG_PHIL_BOUNDED_CHANNELS))]
    let (requests, incoming) = channel::unbounded();

    // One reply channel per fork: only the philosopher waiting for that fork listens on it.
    let replies = (0..NUM_PHIL).map(|_| channel::bounded(1)).collect();

    let mut server = SERVER_THREAD.init_once(SERVER_STACK.init_once(()).unwrap()).unwrap();
    // More urgent than the philosophers (priority 0), so requests are answered at once.
    server.set_priority(-1);
    server.set_name(c"fork-server");
    server.spawn(move || fork_server(incoming));

    Arc::new(ChannelForks { requests, replies })
}

/// Grants each fork to one philosopher at a time, in the order they asked. Ends when every
/// sender is gone.
fn fork_server(requests: Receiver<Request>) {
    let mut held = [false; NUM_PHIL];
    let mut waiting: [VecDeque<Sender<()>>; NUM_PHIL] = Default::default();
    let mut served = 0u32;
    while let Ok(request) = requests.recv() {
        match request {
            Request::Take { fork, reply } => {
                if held[fork] {
                    waiting[fork].push_back(reply);
                } else {
                    held[fork] = true;
                    served += 1;
                    reply.send(()).unwrap();
                }
            }
            Request::Release { fork } => match waiting[fork].pop_front() {
                Some(next) => {
                    served += 1;
                    next.send(()).unwrap();
                }
                None => held[fork] = false,
            },
        }
    }
    printkln!("Fork server: {} forks handed out, every philosopher gone", served);
}

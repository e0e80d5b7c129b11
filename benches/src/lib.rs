//! Benchmarks of the ZooKeeper client stack: the criterion benches in `benches/` and the
//! sample messages they measure.
//!
//! Run them with `cargo bench -p zk-benches`. Every fixture here is a realistic message
//! built from zk-proto records, so the benches and the tests that check the fixtures use
//! the same bytes.
//!
//! ```
//! use zk_proto::Record;
//! let reply = zk_benches::get_data_reply(100);
//! assert_eq!(reply.data.as_ref().map(|d| d.len()), Some(100));
//! assert_eq!(reply.encoded_len(), 4 + 100 + 68);
//! ```
#![forbid(unsafe_code)]

use bytes::Bytes;
use zk_proto::CreateMode;
use zk_proto::records::{
    Acl, CheckVersionRequest, CreateRequest, DeleteRequest, GetChildren2Response, GetDataResponse,
    MultiOp, MultiRequest, SetDataRequest, Stat,
};

/// A Stat with every field set, as a busy node has it.
pub fn stat() -> Stat {
    Stat {
        czxid: 0x1_0000_0002,
        mzxid: 0x1_0000_1234,
        ctime: 1_795_255_783_851,
        mtime: 1_795_255_799_000,
        version: 17,
        cversion: 1000,
        aversion: 0,
        ephemeral_owner: 0,
        data_length: 100,
        num_children: 1000,
        pzxid: 0x1_0000_1230,
    }
}

/// A getData reply carrying `len` bytes of data.
pub fn get_data_reply(len: usize) -> GetDataResponse {
    GetDataResponse {
        data: Some(Bytes::from(vec![b'x'; len])),
        stat: Stat {
            data_length: len as i32,
            ..stat()
        },
    }
}

/// A getChildren2 reply listing `n` sequential children (`task-0000000000`, ...).
pub fn get_children2_reply(n: usize) -> GetChildren2Response {
    GetChildren2Response {
        children: (0..n).map(|i| format!("task-{i:010}")).collect(),
        stat: stat(),
    }
}

/// A 10-op multi as a task queue moves an item: checks, creates, sets and deletes.
pub fn multi_request() -> MultiRequest {
    let ops = (0..10)
        .map(|i| match i % 4 {
            0 => MultiOp::Check(CheckVersionRequest {
                path: format!("/tasks/owner-{i}"),
                version: i,
            }),
            1 => MultiOp::Create(CreateRequest {
                path: format!("/tasks/assign/worker-3/task-{i:010}"),
                data: Bytes::from_static(&[b'p'; 32]),
                acl: vec![Acl::open_unsafe()],
                flags: CreateMode::Persistent,
            }),
            2 => MultiOp::SetData(SetDataRequest {
                path: format!("/tasks/status/task-{i:010}"),
                data: Bytes::from_static(b"assigned"),
                version: -1,
            }),
            _ => MultiOp::Delete(DeleteRequest {
                path: format!("/tasks/queue/task-{i:010}"),
                version: -1,
            }),
        })
        .collect();
    MultiRequest { ops }
}

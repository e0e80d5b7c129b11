//! The ZooKeeper client wire protocol and session, without I/O.
//!
//! This crate contains no networking code, reads no clock and draws no randomness unless
//! seeded: it turns records into bytes and bytes into records, splits byte streams into
//! frames, validates paths, and runs the client session ([`session::Session`]) as a state
//! machine fed with bytes and instants. An async client (zk-client) drives it over a
//! socket; tests drive it with a virtual clock and a scripted server, fuzzers with
//! arbitrary input.
//!
//! | module | what |
//! |---|---|
//! | [`jute`] | the [`Record`] trait, primitives, [`DecodeError`], [`decode_exact`] |
//! | [`records`] | every client-visible record of `zookeeper.jute` 3.9, multi and the handshake |
//! | [`frame`] | 4-byte big-endian length framing with a maximum checked before allocation |
//! | [`path`] | path validation (`PathUtils` rules), sequence suffixes, chroot |
//! | [`hosts`] | connect strings (`host:port,.../chroot`, `tls://`), host order |
//! | [`rng`] | [`SplitMix64`](rng::SplitMix64), the seeded generator behind host order and jitter, with a pinned sequence |
//! | [`session`] | the session state machine: handshake, pings, reconnect, watches, SetWatches, auth and SASL, read-only, expiry |
//! | [`xid`] | special xids and the request id counter |
//! | [`OpCode`], [`ErrorCode`], [`EventType`], [`KeeperState`], [`CreateMode`], [`AddWatchMode`], [`WatcherType`], [`Perms`] | the protocol's enumerations |
//!
//! # Quick start
//!
//! Encode a request into a frame and decode the reply the server sends back:
//!
//! ```
//! use bytes::BytesMut;
//! use zk_proto::frame::{encode_frame, FrameDecoder, DEFAULT_MAX_FRAME_LEN};
//! use zk_proto::records::{GetDataRequest, GetDataResponse, ReplyHeader, RequestHeader, Stat};
//! use zk_proto::{ErrorCode, OpCode, Record};
//!
//! let mut out = BytesMut::new();
//! let header = RequestHeader { xid: 1, op_code: OpCode::GetData };
//! encode_frame(&mut out, &(header, GetDataRequest { path: "/config".into(), watch: true }), DEFAULT_MAX_FRAME_LEN)?;
//!
//! // What a server would answer.
//! let reply = ReplyHeader { xid: 1, zxid: 42, err: ErrorCode::Ok };
//! let body = GetDataResponse { data: Some("v1".into()), stat: Stat { version: 1, ..Stat::default() } };
//! let mut input = BytesMut::new();
//! encode_frame(&mut input, &(reply, body), DEFAULT_MAX_FRAME_LEN)?;
//!
//! let mut frames = FrameDecoder::default();
//! let mut frame = frames.decode(&mut input)?.expect("a whole frame");
//! let header = ReplyHeader::decode(&mut frame)?;
//! assert_eq!((header.xid, header.err), (1, ErrorCode::Ok));
//! let rsp = GetDataResponse::decode(&mut frame)?;
//! assert_eq!(rsp.data.as_deref(), Some(&b"v1"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Robustness
//!
//! Nothing received can make this crate panic or allocate without bound: every length is
//! checked against the input that remains and a limit before any allocation, frames longer
//! than the configured maximum are refused before memory is reserved, and enumerations that
//! a newer server may extend ([`ErrorCode`], [`EventType`], [`KeeperState`]) keep unknown
//! values instead of failing.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod frame;
pub mod hosts;
pub mod jute;
pub mod path;
pub mod records;
pub mod rng;
pub mod session;
pub mod xid;

mod error_code;
mod op_code;
mod types;
mod wire_enum;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use error_code::ErrorCode;
pub use jute::{DecodeError, DecodeErrorKind, Record, decode_exact};
pub use op_code::OpCode;
pub use types::{AddWatchMode, CreateMode, EventType, KeeperState, Perms, WatcherType};

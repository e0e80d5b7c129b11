//! `multi` and `multiRead`: records the Java client codes by hand
//! (`MultiOperationRecord`, `MultiResponse`).
//!
//! A request is a sequence of `MultiHeader{type, false, -1}` + op record, ended by
//! [`MultiHeader::END`]. A response is a sequence of `MultiHeader{type, false, err}` +
//! result body, ended the same way. When one op of a multi fails, every result is an
//! [`MultiResult::Error`]: OK before the failing op, its code, then
//! `RuntimeInconsistency` after it.

use bytes::{Buf, BufMut};

use super::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest,
    DeleteRequest, ErrorResponse, GetChildrenRequest, GetChildrenResponse, GetDataRequest,
    GetDataResponse, MultiHeader, SetDataRequest, SetDataResponse,
};
use crate::jute::{DecodeError, DecodeErrorKind, Record};
use crate::{ErrorCode, OpCode};

/// One operation of a multi or multiRead.
///
/// Writes (create, delete, setData, check) and reads (getData, getChildren) must not be
/// mixed in one request; the server refuses that.
///
/// ```
/// use zk_proto::records::{CheckVersionRequest, MultiOp};
/// let op = MultiOp::Check(CheckVersionRequest { path: "/a".into(), version: 3 });
/// assert_eq!(op.op_code(), zk_proto::OpCode::Check);
/// assert!(!op.is_read());
/// ```
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum MultiOp {
    /// create (1); returns [`MultiResult::Create`].
    Create(CreateRequest),
    /// create2 (15); 3.8.0–3.8.1 demote it to create and return no Stat.
    Create2(CreateRequest),
    /// createContainer (19); returns [`MultiResult::Create2`].
    CreateContainer(CreateRequest),
    /// createTTL (21); returns [`MultiResult::Create2`].
    CreateTtl(CreateTtlRequest),
    /// delete (2).
    Delete(DeleteRequest),
    /// setData (5).
    SetData(SetDataRequest),
    /// check (13).
    Check(CheckVersionRequest),
    /// getData (4), multiRead only.
    GetData(GetDataRequest),
    /// getChildren (8), multiRead only.
    GetChildren(GetChildrenRequest),
}

impl MultiOp {
    /// The opcode written in this op's header.
    pub const fn op_code(&self) -> OpCode {
        match self {
            Self::Create(_) => OpCode::Create,
            Self::Create2(_) => OpCode::Create2,
            Self::CreateContainer(_) => OpCode::CreateContainer,
            Self::CreateTtl(_) => OpCode::CreateTtl,
            Self::Delete(_) => OpCode::Delete,
            Self::SetData(_) => OpCode::SetData,
            Self::Check(_) => OpCode::Check,
            Self::GetData(_) => OpCode::GetData,
            Self::GetChildren(_) => OpCode::GetChildren,
        }
    }

    /// Whether this op belongs in a multiRead rather than a multi.
    pub const fn is_read(&self) -> bool {
        matches!(self, Self::GetData(_) | Self::GetChildren(_))
    }

    /// The path the op acts on.
    pub fn path(&self) -> &str {
        match self {
            Self::Create(r) | Self::Create2(r) | Self::CreateContainer(r) => &r.path,
            Self::CreateTtl(r) => &r.path,
            Self::Delete(r) => &r.path,
            Self::SetData(r) => &r.path,
            Self::Check(r) => &r.path,
            Self::GetData(r) => &r.path,
            Self::GetChildren(r) => &r.path,
        }
    }

    fn encode_body<B: BufMut>(&self, buf: &mut B) {
        match self {
            Self::Create(r) | Self::Create2(r) | Self::CreateContainer(r) => r.encode(buf),
            Self::CreateTtl(r) => r.encode(buf),
            Self::Delete(r) => r.encode(buf),
            Self::SetData(r) => r.encode(buf),
            Self::Check(r) => r.encode(buf),
            Self::GetData(r) => r.encode(buf),
            Self::GetChildren(r) => r.encode(buf),
        }
    }

    fn body_len(&self) -> usize {
        match self {
            Self::Create(r) | Self::Create2(r) | Self::CreateContainer(r) => r.encoded_len(),
            Self::CreateTtl(r) => r.encoded_len(),
            Self::Delete(r) => r.encoded_len(),
            Self::SetData(r) => r.encoded_len(),
            Self::Check(r) => r.encoded_len(),
            Self::GetData(r) => r.encoded_len(),
            Self::GetChildren(r) => r.encoded_len(),
        }
    }

    fn decode_body<B: Buf>(op_code: OpCode, buf: &mut B) -> Result<Self, DecodeError> {
        Ok(match op_code {
            OpCode::Create => Self::Create(Record::decode(buf)?),
            OpCode::Create2 => Self::Create2(Record::decode(buf)?),
            OpCode::CreateContainer => Self::CreateContainer(Record::decode(buf)?),
            OpCode::CreateTtl => Self::CreateTtl(Record::decode(buf)?),
            OpCode::Delete => Self::Delete(Record::decode(buf)?),
            OpCode::SetData => Self::SetData(Record::decode(buf)?),
            OpCode::Check => Self::Check(Record::decode(buf)?),
            OpCode::GetData => Self::GetData(Record::decode(buf)?),
            OpCode::GetChildren => Self::GetChildren(Record::decode(buf)?),
            other => return Err(unknown_type("MultiOp", other)),
        })
    }
}

fn unknown_type(what: &'static str, op_code: OpCode) -> DecodeError {
    DecodeError::new(DecodeErrorKind::UnknownValue {
        what,
        value: op_code.code().into(),
    })
}

/// The ops of a multi or multiRead (`MultiOperationRecord`).
///
/// ```
/// use zk_proto::{decode_exact, Record};
/// use zk_proto::records::{DeleteRequest, MultiOp, MultiRequest};
///
/// let multi = MultiRequest { ops: vec![MultiOp::Delete(DeleteRequest { path: "/a".into(), version: -1 })] };
/// assert_eq!(decode_exact::<MultiRequest>(&multi.to_bytes())?, multi);
/// assert_eq!(MultiRequest::default().encoded_len(), 9);
/// # Ok::<(), zk_proto::DecodeError>(())
/// ```
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct MultiRequest {
    /// The ops, applied in order and all or nothing (multi) or independently (multiRead).
    pub ops: Vec<MultiOp>,
}

impl MultiRequest {
    /// The request opcode: [`OpCode::MultiRead`] when every op is a read, else [`OpCode::Multi`].
    pub fn op_code(&self) -> OpCode {
        if !self.ops.is_empty() && self.ops.iter().all(MultiOp::is_read) {
            OpCode::MultiRead
        } else {
            OpCode::Multi
        }
    }
}

impl Record for MultiRequest {
    const MIN_LEN: usize = MultiHeader::MIN_LEN;

    fn encode<B: BufMut>(&self, buf: &mut B) {
        for op in &self.ops {
            MultiHeader {
                op_code: op.op_code(),
                done: false,
                err: ErrorCode::SystemError,
            }
            .encode(buf);
            op.encode_body(buf);
        }
        MultiHeader::END.encode(buf);
    }

    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        let mut ops = Vec::new();
        loop {
            let header = MultiHeader::decode(buf)?;
            if header.done {
                return Ok(Self { ops });
            }
            ops.push(
                MultiOp::decode_body(header.op_code, buf)
                    .map_err(|e| e.in_field("MultiRequest.ops"))?,
            );
        }
    }

    fn encoded_len(&self) -> usize {
        self.ops
            .iter()
            .map(|op| MultiHeader::MIN_LEN + op.body_len())
            .sum::<usize>()
            + MultiHeader::MIN_LEN
    }
}

/// The result of one op of a multi or multiRead.
///
/// ```
/// use zk_proto::{ErrorCode, records::MultiResult};
/// assert_eq!(MultiResult::Error(ErrorCode::BadVersion).error(), Some(ErrorCode::BadVersion));
/// assert_eq!(MultiResult::Error(ErrorCode::Ok).error(), None);
/// assert_eq!(MultiResult::Delete.error(), None);
/// ```
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum MultiResult {
    /// create (1): the path, no Stat.
    Create(CreateResponse),
    /// create2, createContainer, createTTL (15): path and Stat.
    Create2(Create2Response),
    /// setData (5).
    SetData(SetDataResponse),
    /// delete (2).
    Delete,
    /// check (13).
    Check,
    /// getData (4), multiRead.
    GetData(GetDataResponse),
    /// getChildren (8), multiRead.
    GetChildren(GetChildrenResponse),
    /// An error result (−1); in a failed multi, ops that would have succeeded report OK.
    Error(ErrorCode),
}

impl MultiResult {
    /// The result type written in its header.
    pub const fn op_code(&self) -> OpCode {
        match self {
            Self::Create(_) => OpCode::Create,
            Self::Create2(_) => OpCode::Create2,
            Self::SetData(_) => OpCode::SetData,
            Self::Delete => OpCode::Delete,
            Self::Check => OpCode::Check,
            Self::GetData(_) => OpCode::GetData,
            Self::GetChildren(_) => OpCode::GetChildren,
            Self::Error(_) => OpCode::Error,
        }
    }

    /// The error code of an error result, unless it is OK.
    pub const fn error(&self) -> Option<ErrorCode> {
        match self {
            Self::Error(ErrorCode::Ok) => None,
            Self::Error(code) => Some(*code),
            _ => None,
        }
    }

    fn header_err(&self) -> ErrorCode {
        match self {
            Self::Error(code) => *code,
            _ => ErrorCode::Ok,
        }
    }

    fn encode_body<B: BufMut>(&self, buf: &mut B) {
        match self {
            Self::Create(r) => r.encode(buf),
            Self::Create2(r) => r.encode(buf),
            Self::SetData(r) => r.encode(buf),
            Self::Delete | Self::Check => {}
            Self::GetData(r) => r.encode(buf),
            Self::GetChildren(r) => r.encode(buf),
            Self::Error(code) => ErrorResponse { err: *code }.encode(buf),
        }
    }

    fn body_len(&self) -> usize {
        match self {
            Self::Create(r) => r.encoded_len(),
            Self::Create2(r) => r.encoded_len(),
            Self::SetData(r) => r.encoded_len(),
            Self::Delete | Self::Check => 0,
            Self::GetData(r) => r.encoded_len(),
            Self::GetChildren(r) => r.encoded_len(),
            Self::Error(_) => ErrorResponse::MIN_LEN,
        }
    }

    fn decode_body<B: Buf>(op_code: OpCode, buf: &mut B) -> Result<Self, DecodeError> {
        Ok(match op_code {
            OpCode::Create => Self::Create(Record::decode(buf)?),
            OpCode::Create2 => Self::Create2(Record::decode(buf)?),
            OpCode::SetData => Self::SetData(Record::decode(buf)?),
            OpCode::Delete => Self::Delete,
            OpCode::Check => Self::Check,
            OpCode::GetData => Self::GetData(Record::decode(buf)?),
            OpCode::GetChildren => Self::GetChildren(Record::decode(buf)?),
            OpCode::Error => Self::Error(ErrorResponse::decode(buf)?.err),
            other => return Err(unknown_type("MultiResult", other)),
        })
    }
}

/// The results of a multi or multiRead (`MultiResponse`), one per op, in op order.
///
/// ```
/// use zk_proto::{decode_exact, ErrorCode, Record};
/// use zk_proto::records::{MultiResponse, MultiResult};
///
/// let failed = MultiResponse {
///     results: vec![
///         MultiResult::Error(ErrorCode::Ok),
///         MultiResult::Error(ErrorCode::BadVersion),
///         MultiResult::Error(ErrorCode::RuntimeInconsistency),
///     ],
/// };
/// assert_eq!(failed.first_error(), Some((1, ErrorCode::BadVersion)));
/// assert_eq!(decode_exact::<MultiResponse>(&failed.to_bytes())?, failed);
/// # Ok::<(), zk_proto::DecodeError>(())
/// ```
#[derive(Clone, Debug, Default, Eq, Hash, PartialEq)]
pub struct MultiResponse {
    /// The results, in the order of the ops.
    pub results: Vec<MultiResult>,
}

impl MultiResponse {
    /// The index and code of the first failed op, skipping the `RuntimeInconsistency` that
    /// marks ops after the failure (as the C client does).
    pub fn first_error(&self) -> Option<(usize, ErrorCode)> {
        let errors = || {
            self.results
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.error().map(|e| (i, e)))
        };
        errors()
            .find(|(_, e)| *e != ErrorCode::RuntimeInconsistency)
            .or_else(|| errors().next())
    }
}

impl Record for MultiResponse {
    const MIN_LEN: usize = MultiHeader::MIN_LEN;

    fn encode<B: BufMut>(&self, buf: &mut B) {
        for result in &self.results {
            MultiHeader {
                op_code: result.op_code(),
                done: false,
                err: result.header_err(),
            }
            .encode(buf);
            result.encode_body(buf);
        }
        MultiHeader::END.encode(buf);
    }

    fn decode<B: Buf>(buf: &mut B) -> Result<Self, DecodeError> {
        let mut results = Vec::new();
        loop {
            let header = MultiHeader::decode(buf)?;
            if header.done {
                return Ok(Self { results });
            }
            results.push(
                MultiResult::decode_body(header.op_code, buf)
                    .map_err(|e| e.in_field("MultiResponse.results"))?,
            );
        }
    }

    fn encoded_len(&self) -> usize {
        self.results
            .iter()
            .map(|r| MultiHeader::MIN_LEN + r.body_len())
            .sum::<usize>()
            + MultiHeader::MIN_LEN
    }
}

#[cfg(test)]
mod gen_impls {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::Gen;

    impl Gen for MultiOp {
        fn strategy() -> BoxedStrategy<Self> {
            prop_oneof![
                CreateRequest::strategy().prop_map(Self::Create),
                CreateRequest::strategy().prop_map(Self::Create2),
                CreateRequest::strategy().prop_map(Self::CreateContainer),
                CreateTtlRequest::strategy().prop_map(Self::CreateTtl),
                DeleteRequest::strategy().prop_map(Self::Delete),
                SetDataRequest::strategy().prop_map(Self::SetData),
                CheckVersionRequest::strategy().prop_map(Self::Check),
                GetDataRequest::strategy().prop_map(Self::GetData),
                GetChildrenRequest::strategy().prop_map(Self::GetChildren),
            ]
            .boxed()
        }
    }

    impl Gen for MultiResult {
        fn strategy() -> BoxedStrategy<Self> {
            prop_oneof![
                CreateResponse::strategy().prop_map(Self::Create),
                Create2Response::strategy().prop_map(Self::Create2),
                SetDataResponse::strategy().prop_map(Self::SetData),
                Just(Self::Delete),
                Just(Self::Check),
                GetDataResponse::strategy().prop_map(Self::GetData),
                GetChildrenResponse::strategy().prop_map(Self::GetChildren),
                ErrorCode::strategy().prop_map(Self::Error),
            ]
            .boxed()
        }
    }

    impl Gen for MultiRequest {
        fn strategy() -> BoxedStrategy<Self> {
            Vec::<MultiOp>::strategy()
                .prop_map(|ops| Self { ops })
                .boxed()
        }
    }

    impl Gen for MultiResponse {
        fn strategy() -> BoxedStrategy<Self> {
            Vec::<MultiResult>::strategy()
                .prop_map(|results| Self { results })
                .boxed()
        }
    }
}

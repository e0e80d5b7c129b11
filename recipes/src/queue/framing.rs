//! Curator's `ItemSerializer` framing of a `DistributedQueue` node's data: the version
//! `0x00010001` (4 bytes big-endian), then per item a `0x01` byte, its length (4 bytes
//! big-endian) and its bytes, then a `0x02` byte. One node holds one item from `put`, or
//! several from `putMulti`.

use bytes::{BufMut, Bytes, BytesMut};

const VERSION: u32 = 0x0001_0001;
const ITEM: u8 = 0x01;
const END: u8 = 0x02;

/// The data of a node holding `items`.
pub(crate) fn encode<I: AsRef<[u8]>>(items: &[I]) -> Bytes {
    let len = 5 + items.iter().map(|i| 5 + i.as_ref().len()).sum::<usize>();
    let mut out = BytesMut::with_capacity(len);
    out.put_u32(VERSION);
    for item in items {
        let item = item.as_ref();
        out.put_u8(ITEM);
        // Items are bounded by the frame limit, far below 4 GiB.
        out.put_u32(u32::try_from(item.len()).unwrap_or(u32::MAX));
        out.put_slice(item);
    }
    out.put_u8(END);
    out.freeze()
}

/// The items of a node's data; `None` when it is not in this framing.
pub(crate) fn decode(data: &Bytes) -> Option<Vec<Bytes>> {
    let version = data.get(..4)?;
    if u32::from_be_bytes(version.try_into().ok()?) != VERSION {
        return None;
    }
    let mut at = 4;
    let mut items = Vec::new();
    loop {
        match *data.get(at)? {
            END => return (at + 1 == data.len()).then_some(items),
            ITEM => {
                let len = data.get(at + 1..at + 5)?;
                let len = usize::try_from(u32::from_be_bytes(len.try_into().ok()?)).ok()?;
                let start = at + 5;
                let end = start.checked_add(len)?;
                if end > data.len() {
                    return None;
                }
                items.push(data.slice(start..end));
                at = end;
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_bytes_curator_writes_for_hello() {
        let framed = encode(&[b"hello"]);
        assert_eq!(
            &framed[..],
            b"\x00\x01\x00\x01\x01\x00\x00\x00\x05hello\x02"
        );
        assert_eq!(decode(&framed), Some(vec![Bytes::from_static(b"hello")]));
    }

    #[test]
    fn malformed_data_is_refused() {
        for bad in [
            &b""[..],
            b"\x00\x01\x00\x01",
            b"\x00\x01\x00\x02\x02",
            b"\x00\x01\x00\x01\x01\x00\x00\x00\x09hi\x02",
            b"\x00\x01\x00\x01\x03\x02",
            b"\x00\x01\x00\x01\x02extra",
            b"raw bytes",
        ] {
            assert_eq!(decode(&Bytes::copy_from_slice(bad)), None, "{bad:?}");
        }
        assert_eq!(decode(&encode::<&[u8]>(&[])), Some(Vec::new()));
    }

    proptest! {
        #[test]
        fn items_round_trip(items in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let decoded = decode(&encode(&items)).expect("framed");
            let decoded: Vec<Vec<u8>> = decoded.iter().map(|b| b.to_vec()).collect();
            prop_assert_eq!(decoded, items);
        }
    }
}

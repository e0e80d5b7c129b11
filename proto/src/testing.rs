//! Property-test generators for every record (test builds only).

use std::fmt::Debug;

use bytes::Bytes;
use proptest::prelude::*;

/// A proptest strategy for any value of a wire type.
pub(crate) trait Gen: Sized + Debug {
    /// Generates arbitrary values, covering the edge cases of the encoding.
    fn strategy() -> BoxedStrategy<Self>;
}

/// Builds the strategy of a record from the strategies of its fields.
macro_rules! fields {
    ($name:ident { $($field:ident : $ty:ty),* }) => {
        ( $( <$ty as $crate::testing::Gen>::strategy(), )* )
            .prop_map(|( $($field,)* )| $name { $($field),* })
            .boxed()
    };
}
pub(crate) use fields;

impl Gen for i32 {
    fn strategy() -> BoxedStrategy<Self> {
        prop_oneof![
            Just(0),
            Just(-1),
            Just(Self::MIN),
            Just(Self::MAX),
            any::<Self>()
        ]
        .boxed()
    }
}

impl Gen for i64 {
    fn strategy() -> BoxedStrategy<Self> {
        prop_oneof![
            Just(0),
            Just(-1),
            Just(Self::MIN),
            Just(Self::MAX),
            any::<Self>()
        ]
        .boxed()
    }
}

impl Gen for bool {
    fn strategy() -> BoxedStrategy<Self> {
        any::<Self>().boxed()
    }
}

impl Gen for String {
    fn strategy() -> BoxedStrategy<Self> {
        prop_oneof![Just(Self::new()), "/[a-z0-9/._-]{0,24}", any::<Self>()].boxed()
    }
}

impl Gen for Bytes {
    fn strategy() -> BoxedStrategy<Self> {
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(Self::from)
            .boxed()
    }
}

impl<T: Gen + 'static> Gen for Option<T> {
    fn strategy() -> BoxedStrategy<Self> {
        proptest::option::of(T::strategy()).boxed()
    }
}

impl<T: Gen + 'static> Gen for Vec<T> {
    fn strategy() -> BoxedStrategy<Self> {
        proptest::collection::vec(T::strategy(), 0..5).boxed()
    }
}

/// Asserts that `value` survives encode and decode, in one piece and split at every
/// position of `splits` (the bytes arriving in chunks through the frame decoder).
pub(crate) fn assert_roundtrip<R: crate::Record + Gen + PartialEq>(value: &R, splits: &[usize]) {
    use bytes::BytesMut;

    let bytes = value.to_bytes();
    assert_eq!(bytes.len(), value.encoded_len(), "encoded_len of {value:?}");
    assert_eq!(&crate::decode_exact::<R>(&bytes).expect("decode"), value);

    // The same value framed and fed to the frame decoder in chunks.
    let mut framed = BytesMut::new();
    crate::frame::encode_frame(&mut framed, value, usize::MAX).expect("frame");
    let mut decoder = crate::frame::FrameDecoder::new(usize::MAX);
    let mut input = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = &framed[..];
    for &split in splits {
        let (chunk, tail) = rest.split_at(split.min(rest.len()));
        input.extend_from_slice(chunk);
        rest = tail;
        while let Some(frame) = decoder.decode(&mut input).expect("frame decode") {
            frames.push(frame);
        }
    }
    input.extend_from_slice(rest);
    while let Some(frame) = decoder.decode(&mut input).expect("frame decode") {
        frames.push(frame);
    }
    assert_eq!(frames.len(), 1, "one frame for {value:?}");
    assert!(input.is_empty());
    assert_eq!(
        &crate::decode_exact::<R>(&frames[0]).expect("decode framed"),
        value
    );
}

/// A property test asserting [`assert_roundtrip`] for every listed record type.
macro_rules! roundtrip_tests {
    ($($test:ident: $ty:ty,)*) => {
        $(
            proptest::proptest! {
                #[test]
                fn $test(
                    value in <$ty as $crate::testing::Gen>::strategy(),
                    splits in proptest::collection::vec(0usize..40, 0..6),
                ) {
                    $crate::testing::assert_roundtrip(&value, &splits);
                }
            }
        )*
    };
}
pub(crate) use roundtrip_tests;

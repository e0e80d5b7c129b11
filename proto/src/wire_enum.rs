//! Macros for the `int` enumerations of the protocol.

/// A closed enumeration: every value is known, anything else is a decode error.
macro_rules! closed_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
        #[non_exhaustive]
        #[repr(i32)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The value on the wire.
            pub const fn code(self) -> i32 {
                self as i32
            }
        }

        impl TryFrom<i32> for $name {
            type Error = $crate::jute::DecodeError;

            fn try_from(value: i32) -> Result<Self, $crate::jute::DecodeError> {
                match value {
                    $( $value => Ok(Self::$variant), )*
                    _ => Err($crate::jute::DecodeError::new($crate::jute::DecodeErrorKind::UnknownValue {
                        what: stringify!($name),
                        value: value.into(),
                    })),
                }
            }
        }

        impl From<$name> for i32 {
            fn from(value: $name) -> Self {
                value.code()
            }
        }

        impl $crate::jute::Record for $name {
            const MIN_LEN: usize = 4;
            fn encode<B: ::bytes::BufMut>(&self, buf: &mut B) {
                buf.put_i32(self.code());
            }
            fn decode<B: ::bytes::Buf>(buf: &mut B) -> Result<Self, $crate::jute::DecodeError> {
                Self::try_from(<i32 as $crate::jute::Record>::decode(buf)?)
            }
            fn encoded_len(&self) -> usize {
                4
            }
        }

        #[cfg(test)]
        impl $crate::testing::Gen for $name {
            fn strategy() -> ::proptest::strategy::BoxedStrategy<Self> {
                use ::proptest::strategy::Strategy as _;
                ::proptest::sample::select(Self::ALL).boxed()
            }
        }
    };
}
pub(crate) use closed_enum;

/// An open enumeration: values this crate does not know are kept as `Unknown(i32)`, so a
/// newer server cannot break decoding.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know.
            Unknown(i32),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The value on the wire.
            pub const fn code(self) -> i32 {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Unknown(value) => value,
                }
            }
        }

        impl From<i32> for $name {
            fn from(value: i32) -> Self {
                match value {
                    $( $value => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for i32 {
            fn from(value: $name) -> Self {
                value.code()
            }
        }

        impl $crate::jute::Record for $name {
            const MIN_LEN: usize = 4;
            fn encode<B: ::bytes::BufMut>(&self, buf: &mut B) {
                buf.put_i32(self.code());
            }
            fn decode<B: ::bytes::Buf>(buf: &mut B) -> Result<Self, $crate::jute::DecodeError> {
                Ok(Self::from(<i32 as $crate::jute::Record>::decode(buf)?))
            }
            fn encoded_len(&self) -> usize {
                4
            }
        }

        #[cfg(test)]
        impl $crate::testing::Gen for $name {
            fn strategy() -> ::proptest::strategy::BoxedStrategy<Self> {
                use ::proptest::strategy::Strategy as _;
                ::proptest::prop_oneof![
                    ::proptest::sample::select(Self::ALL),
                    ::proptest::arbitrary::any::<i32>().prop_map(Self::from),
                ]
                .boxed()
            }
        }
    };
}
pub(crate) use open_enum;

//! The methods that every queue type shares, written once: bounds, depth and claims path.

/// `max_items`, `depths` and `len` for a queue type with an `engine` field.
macro_rules! engine_methods {
    ($ty:ident, $path:literal) => {
        impl $ty {
            #[doc = concat!(
                "Bounds the queue: a put waits while it holds `max` items or more (Curator's ",
                "`maxItems`). Producers that put at the same moment can overshoot by one item ",
                "each.\n\n```no_run\n# fn _example(client: zk_client::Client) {\n",
                "let queue = zk_recipes::queue::", stringify!($ty), "::new(&client, \"", $path,
                "\").max_items(1000);\n# drop(queue); }\n```"
            )]
            #[must_use]
            pub fn max_items(mut self, max: usize) -> Self {
                self.engine.max_items = Some(max.max(1));
                self
            }

            #[doc = concat!(
                "The queue's depth now, then again after each change of its items (a ",
                "monitoring stream); it ends after an error once the session has ended.\n\n",
                "```no_run\nuse futures::StreamExt;\n# async fn _example(queue: zk_recipes::queue::",
                stringify!($ty), ") {\nlet mut depths = std::pin::pin!(queue.depths());\n",
                "while let Some(Ok(depth)) = depths.next().await {\n    println!(\"{depth} waiting\");\n}\n# }\n```"
            )]
            pub fn depths(
                &self,
            ) -> impl futures::Stream<Item = $crate::Result<usize>> + Send + 'static + use<> {
                self.engine.depths()
            }

            #[doc = concat!(
                "How many items the queue holds now, claimed or not (its depth).\n\n# Errors\n\n",
                "The ZooKeeper errors of the read.\n\n```no_run\n# async fn _example(queue: ",
                "zk_recipes::queue::", stringify!($ty), ") -> zk_recipes::Result<()> {\n",
                "println!(\"{} waiting\", queue.len().await?);\n# Ok(()) }\n```"
            )]
            pub async fn len(&self) -> $crate::Result<usize> {
                Ok(self.engine.items().await?.len())
            }
        }
    };
}

/// `claims_path` for a queue type whose peers have no claims of their own.
macro_rules! claims_path_method {
    ($ty:ident, $path:literal) => {
        impl $ty {
            #[doc = concat!(
                "Where claims go (`<path>-claims` unless set): one path per queue, the same ",
                "for every consumer of it.\n\n```no_run\n# fn _example(client: zk_client::Client) {\n",
                "let queue = zk_recipes::queue::", stringify!($ty), "::new(&client, \"", $path,
                "\").claims_path(\"/claims", $path, "\");\n# drop(queue); }\n```"
            )]
            #[must_use]
            pub fn claims_path(mut self, path: &str) -> Self {
                self.engine.claims = path.into();
                self
            }
        }
    };
}

pub(crate) use {claims_path_method, engine_methods};
